"""The ELECTRA demo on real text (``python tools/demo.py --task electra --electra-text real``).

Pretraining corpus: the sentences of gensim's Lee corpus (``lee_background.cor``, 300 real Australian news
paragraphs, and ``lee.cor``, 50 more; 2759 sentences of at least 3 words), with a 4000-token WordPiece vocabulary
trained on it (configs/demo/electra-tiny_demo-real_pretrain.py). The tiny ELECTRA is pretrained three ways (plain,
hardness-aware sampling, focal generator loss) as in the generated-caption demo; each discriminator is then
fine-tuned as a ``beitmm.TextClassifier`` on real movie-review polarity (gensim's ``pang_lee_polarity.cor``,
``beitmm.PolarityDataset``, 160 train / 40 test, ``beitmm.GLUEMetric`` task 'polarity';
configs/demo/bert-tiny_demo-real_text-cls.py), next to the same classifier from scratch; chance is 50%. The
polarity sentences are never part of the pretraining corpus or of the vocabulary's text.
"""
import argparse
import os
import os.path as osp
import re
import sys
from typing import Dict, List, Tuple

from .stages import config_value, rel, run_stage, say

REAL_CFG = 'configs/demo/electra-tiny_demo-real_pretrain.py'
POLARITY_CFG = 'configs/demo/bert-tiny_demo-real_text-cls.py'
# (file under gensim/test/test_data, encoding): lee_background.cor is ASCII, lee.cor Latin-1 (one byte 0xA3, '£')
REAL_FILES = (('lee_background.cor', 'utf-8'), ('lee.cor', 'latin-1'))
MIN_WORDS = 3  # a choice: shorter pieces are split artefacts (initials, "Mr.")
POLARITY_CHANCE = 50.0  # two balanced classes (20 / 20 test sentences)
# a sentence ends at . ! or ? followed by white space and a capital letter or an opening quote
SENTENCE_END = re.compile(r'(?<=[.!?])\s+(?=[A-Z"\'])')


def split_sentences(paragraph: str, min_words: int = MIN_WORDS) -> List[str]:
    """The sentences of a paragraph with at least ``min_words`` words.

    Args:
        paragraph: One line of a corpus file.
        min_words: Shorter pieces are dropped.

    Returns:
        The sentences, stripped, in order.
    """
    return [s.strip() for s in SENTENCE_END.split(paragraph) if len(s.split()) >= min_words]


def write_real_corpus(out: str) -> Dict[str, int]:
    """Write ``out/corpus.source``: one sentence of the Lee corpus a line (UTF-8).

    Args:
        out: Folder of the real-text data.

    Returns:
        ``dict(paragraphs=..., sentences=..., words=...)``; FileNotFoundError naming the install command when
        gensim's test data is missing.
    """
    from beitmm.datasets.real_files import real_lines
    paragraphs = [p for name, enc in REAL_FILES for p in real_lines(name, encoding=enc)]
    sentences = [s for p in paragraphs for s in split_sentences(p)]
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'corpus.source'), 'w', encoding='utf-8') as f:
        f.write(''.join(s + '\n' for s in sentences))
    return dict(paragraphs=len(paragraphs), sentences=len(sentences), words=sum(len(s.split()) for s in sentences))


def schedule(cfg: str, iters: int) -> List[str]:
    """cfg-options for ``iters`` iterations of ``cfg``'s warm-up (at most half of them) and linear decay.

    Args:
        cfg: Config path (its ``param_scheduler``: LinearLR warm-up, then LinearLR decay).
        iters: Training iterations.

    Returns:
        ``--cfg-options`` entries (no-ops with the config's own ``max_iters``).
    """
    warm = max(1, min(config_value(cfg, 'param_scheduler.0.end'), iters // 2))
    return [f'train_cfg.max_iters={iters}', f'param_scheduler.0.end={warm}', f'param_scheduler.1.begin={warm}',
            f'param_scheduler.1.end={iters}', f'default_hooks.checkpoint.interval={iters}']


def run_real_text(args: argparse.Namespace, out: str) -> Tuple[Dict, List[Tuple[str, int]], str]:
    """Corpus, vocabulary, ELECTRA pretraining three ways, polarity fine-tuning from each and from scratch.

    Args:
        args: Parsed demo options (``electra_iters``, ``electra_cls_iters``, ``electra_seeds``, ``jobs``).
        out: The demo's output folder (``<--out>/electra``).

    Returns:
        ``rows`` (``{(setting, seed): dict(resample_correct, disc_acc, ..., downstream, seconds)}``, scratch rows
        included), the pretraining runs ``[(setting, seed)]`` and their work-dir prefix.
    """
    from .electra import downstream_rows, pretrain_runs  # the generated-caption part's stages
    py, data = sys.executable, osp.join(args.data, 'electra_real')
    say('1/5 data: real English news sentences (gensim Lee corpus) for pretraining, real movie-review polarity '
        '(gensim pang_lee_polarity.cor) downstream')
    sizes = write_real_corpus(data)
    vocab = osp.join(data, 'vocab.txt')
    vocab_size = config_value(REAL_CFG, 'vocab_size')
    run_stage('electra real vocabulary', [py, 'tools/misc/train_text_tokenizer.py', 'wordpiece',
                                          osp.join(data, 'corpus.source'), '--out', vocab, '--vocab-size',
                                          str(vocab_size)], osp.join(out, 'real_vocab.log'), threads=args.threads)
    say(f'   {sizes["sentences"]} sentences ({sizes["words"]} words) from {sizes["paragraphs"]} paragraphs; '
        f'WordPiece vocabulary {vocab_size}; polarity 160 train / 40 test sentences, 2 classes, chance 50%')
    iters = args.electra_iters or config_value(REAL_CFG, 'train_cfg.max_iters')
    tok = [f'model.tokenizer.vocab_file={vocab}']
    runs = [(name, seed) for seed in args.electra_seeds for name in args.electra_settings]
    say(f'2/5 ELECTRA pretraining on the real sentences, {iters} iterations each: '
        f'{", ".join(args.electra_settings)} x seeds {args.electra_seeds}')
    pre = pretrain_runs(args, runs, REAL_CFG, (out, 'real_', 'electra real'),
                        [*tok, f'train_dataloader.dataset.data_root={data}', *schedule(REAL_CFG, iters)])
    say('3/5 polarity (real sentences) from each discriminator and from scratch, same budget')
    ci = args.electra_cls_iters or config_value(POLARITY_CFG, 'train_cfg.max_iters')
    cls_opts = [*tok, *schedule(POLARITY_CFG, ci), f'train_cfg.val_interval={ci}']
    rows = downstream_rows(args, runs, pre, POLARITY_CFG, (out, 'polarity', 'polarity'), cls_opts,
                           'glue-polarity/accuracy')
    say(f'   text data in {rel(data)}')
    return rows, runs, 'real_'

