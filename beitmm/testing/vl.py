"""Tiny text tokenizers and VL model configs for tests: vocabularies trained offline in a fraction of a second.

The vocabularies are trained once per process from generated scene descriptions (the words of the synthetic VL
data) and cached in the temporary directory, keyed by the corpus, so every test and the registry contract can
build a VL model without a downloaded ``beit3.spm`` / ``vocab.txt``.
"""
import hashlib
import os
import os.path as osp
import random
import tempfile
from typing import Dict, List, Optional

from beitmm.text.training import train_sentencepiece, train_wordpiece

WORDS = ('a an the is are there of and left right top bottom above below next to image images both more fewer '
         'than one two three four shape shapes red green blue yellow purple orange circle square triangle star '
         'stripes what color how many yes no on in with picture photo small large').split()
TINY_BEIT3 = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
TINY_VLMO = dict(TINY_BEIT3, vlffn_start=1)


def corpus(n: int = 600, seed: int = 0) -> List[str]:
    """``n`` generated sentences over :data:`WORDS` (3 to 12 words)."""
    rng = random.Random(seed)
    return [' '.join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) for _ in range(n)]


def tiny_tokenizer_files(cache_dir: Optional[str] = None) -> Dict[str, str]:
    """A 120-piece SentencePiece model and a 150-token WordPiece ``vocab.txt`` trained on :func:`corpus`.

    Args:
        cache_dir: Where to keep them (default: a folder in the temporary directory keyed by the corpus).

    Returns:
        ``{'spm': path, 'vocab': path}``.
    """
    lines = corpus()
    key = hashlib.sha256('\n'.join(lines).encode()).hexdigest()[:12]
    root = cache_dir or osp.join(tempfile.gettempdir(), f'beitmm-tiny-tokenizers-{key}')
    os.makedirs(root, exist_ok=True)
    text = osp.join(root, 'corpus.txt')
    out = dict(spm=osp.join(root, 'tiny.spm'), vocab=osp.join(root, 'vocab.txt'))
    if not osp.exists(text):
        tmp = f'{text}.{os.getpid()}.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines) + '\n')
        os.replace(tmp, text)
    if not osp.exists(out['spm']):
        train_sentencepiece([text], out['spm'], vocab_size=120, hard_vocab_limit=False, log=None)
    if not osp.exists(out['vocab']):
        train_wordpiece([text], out['vocab'], vocab_size=150, min_frequency=1, log=None)
    return out


def tiny_tokenizer(kind: str = 'spm') -> dict:
    """Config of a tiny ``beitmm.SentencePieceTokenizer`` (``'spm'``) or ``beitmm.WordPieceTokenizer``."""
    files = tiny_tokenizer_files()
    if kind == 'spm':
        return dict(type='beitmm.SentencePieceTokenizer', model_file=files['spm'])
    return dict(type='beitmm.WordPieceTokenizer', vocab_file=files['vocab'])


def tiny_backbone(kind: str = 'beit3', img_size: int = 32, **kwargs) -> dict:
    """A 2-layer, 32-wide ``beitmm.BEiT3`` (``'beit3'``) or ``beitmm.VLMo`` (``'vlmo'``) config, vocabulary 160."""
    if kind == 'beit3':
        return dict(type='beitmm.BEiT3', arch=TINY_BEIT3, img_size=img_size, patch_size=16, vocab_size=160,
                    max_text_positions=66, **kwargs)
    return dict(type='beitmm.VLMo', arch=TINY_VLMO, img_size=img_size, patch_size=16, vocab_size=160,
                max_text_len=40, rel_pos_text_len=40, **kwargs)


def _shrink_pipeline(steps: list, size: int) -> None:
    for step in steps:
        if step.get('transforms'):
            _shrink_pipeline(step['transforms'], size)
        if step['type'].endswith('RandomResizedCrop'):
            step['scale'] = size
        elif step['type'].endswith('Resize'):
            step['scale'] = (size, size)


def shrink_vl_config(cfg, data_root: str, work_dir: str, tokenizer: Optional[dict] = None, img_size: int = 32,
                     batch_size: int = 4, train_items: int = 8, eval_items: int = 6):
    """Make a shipped VL config run in seconds on CPU: its own arch and data layout, tiny sizes and a tiny vocabulary.

    The backbone keeps the config's ``arch`` (tests set ``model.backbone.arch='tiny'`` as a user would), loses its
    pretrained ``init_cfg``; every image step resizes to ``img_size``; loaders get ``data_root``, ``batch_size``, no
    workers and the first ``train_items`` / ``eval_items`` items; one epoch (or a few iterations), no checkpoint
    keeping beyond the last.

    Args:
        cfg: The loaded config (changed in place and returned).
        data_root: Root of the dataset in its released layout.
        work_dir: Run directory.
        tokenizer: Tokenizer config (default: the tiny SentencePiece / WordPiece of :func:`tiny_tokenizer` that
            matches the config's tokenizer type).
        img_size: Image side.
        batch_size: Batch size of every loader.
        train_items: Training items kept.
        eval_items: Evaluation items kept.

    Returns:
        The config.
    """
    kind = 'spm' if 'SentencePiece' in cfg.model.tokenizer['type'] else 'wordpiece'
    cfg.model.tokenizer = tokenizer or tiny_tokenizer(kind)
    cfg.model.backbone.update(img_size=img_size, init_cfg=None, vocab_size=160, drop_path_rate=0.)
    cfg.model.max_text_len = min(cfg.model.get('max_text_len', 40), 24)
    if cfg.model.get('test_max_text_len'):  # captioning: the test-time decoding length too
        cfg.model.test_max_text_len = min(cfg.model.test_max_text_len, 24)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if not loader:
            continue
        loader.update(batch_size=batch_size, num_workers=0, persistent_workers=False)
        loader.dataset.data_root = data_root
        loader.dataset.indices = train_items if key == 'train_dataloader' else eval_items
        _shrink_pipeline(loader.dataset.pipeline, img_size)
        if loader.dataset.type.endswith('VQAv2'):
            loader.dataset.rest_val_images = 4  # of the few generated val images (the same split in every loader)
    cfg.work_dir = work_dir
    if cfg.train_cfg.get('type', '').endswith('IterBasedTrainLoop'):
        cfg.train_cfg.update(max_iters=2, val_interval=2)
        cfg.param_scheduler = []
        cfg.default_hooks.checkpoint.update(interval=2, save_best=None)
    else:
        cfg.train_cfg.update(max_epochs=1, val_interval=1)
        cfg.param_scheduler = []
        cfg.default_hooks.checkpoint.update(interval=1, save_best=None)
    cfg.default_hooks.logger.interval = 1
    cfg.env_cfg.mp_cfg.mp_start_method = 'fork'
    return cfg


def shrink_s2s_config(cfg, data_root: str, work_dir: str, batch_size: int = 4, num_beams: int = 2):
    """Make a shipped s2s-ft config run in seconds: a 2-layer encoder of its family, the tiny vocabulary, short texts.

    BertEncoder configs get the ``tiny`` preset, BEiT-3 / VLMo text branches a 2-layer, 32-wide arch; sources of 16
    and targets of 8 tokens; loaders read ``data_root`` with ``batch_size`` and no workers. Schedules are left to
    the caller.

    Args:
        cfg: The loaded config (changed in place and returned).
        data_root: Root of the seq2seq files.
        work_dir: Run directory.
        batch_size: Batch size of every loader.
        num_beams: Decoding beams.

    Returns:
        The config.
    """
    backbone = cfg.model.backbone
    beit3, vlmo = (backbone.type.endswith(t) for t in ('BEiT3', 'VLMo'))
    multiway = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
    backbone.update(arch=dict(multiway, vlffn_start=2) if vlmo else multiway if beit3 else 'tiny', vocab_size=160,
                    init_cfg=None)
    if beit3:
        backbone.max_text_positions = 64
    elif vlmo:
        backbone.rel_pos_text_len = 40
    else:
        backbone.max_position_embeddings = 40
    spm = beit3 or str(cfg.model.tokenizer.type).endswith('SentencePieceTokenizer')  # XLM-R keeps its kind
    cfg.model.tokenizer = tiny_tokenizer('spm' if spm else 'wordpiece')
    cfg.model.update(max_source_len=16, max_target_len=8, num_beams=num_beams, min_len=1, ngram_ignore_words=())
    if cfg.model.get('num_max_mask_token'):
        cfg.model.num_max_mask_token = 3
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(batch_size=batch_size, num_workers=0, persistent_workers=False)
        cfg[key].dataset.data_root = data_root
    cfg.work_dir = work_dir
    return cfg
