"""Train small text vocabularies offline (``tools/misc/train_text_tokenizer.py`` is the command line).

- ``train_sentencepiece``: a SentencePiece model in XLM-R's layout (spm ids 0, 1, 2 = ``<unk>``, ``<s>``,
  ``</s>``, no ``<pad>``; ``<pad>`` and ``<mask>`` come from the fairseq convention), so it loads in
  ``beitmm.SentencePieceTokenizer`` and ``transformers.XLMRobertaTokenizer`` with BEiT-3's special ids.
- ``train_wordpiece``: a BERT ``vocab.txt`` (``[PAD]`` = 0, ``[UNK]``, ``[CLS]``, ``[SEP]``, ``[MASK]``, then the
  learned pieces), normalized as ``beitmm.WordPieceTokenizer`` / ``transformers.BertTokenizer`` normalize.
"""
import io
import os
import os.path as osp
import re
from typing import Callable, Iterator, Optional, Sequence

from .base import require
from .sentencepiece_tokenizer import FAIRSEQ_SPECIALS
from .wordpiece_tokenizer import SPECIAL_TOKENS, bert_normalizer

Log = Optional[Callable[[str], None]]


def iter_lines(files: Sequence[str], log: Log = print, every: int = 100_000) -> Iterator[str]:
    """Yield the non-empty lines (stripped) of UTF-8 text files, logging how many were read."""
    total = 0
    for path in files:
        if not osp.isfile(path):
            raise FileNotFoundError(f'training text file {path!r} does not exist')
        count = 0
        with open(path, encoding='utf-8', errors='replace') as f:
            for line in f:
                line = line.strip()
                if line:
                    count += 1
                    total += 1
                    if log and total % every == 0:
                        log(f'read {total} lines')
                    yield line
        if log:
            log(f'read {count} lines from {path} ({total} in all)')
    if total == 0:
        raise ValueError(f'no text in {list(files)}: the training files are empty')


def _write_atomic(path: str, data: bytes) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def train_sentencepiece(files: Sequence[str], out_file: str, vocab_size: int, model_type: str = 'unigram',
                        character_coverage: float = 0.9995, user_defined_symbols: Sequence[str] = (),
                        max_sentences: int = 0, hard_vocab_limit: bool = True, num_threads: int = 1,
                        log: Log = print) -> str:
    """Train a SentencePiece model in XLM-R's layout and write it to ``out_file`` (``*.spm`` / ``*.model``).

    Args:
        files: UTF-8 text files, one sentence a line.
        out_file: Where to write the model.
        vocab_size: SentencePiece pieces, the 3 control pieces included; the tokenizer then has
            ``vocab_size + 2`` ids (``<pad>`` and ``<mask>`` added; beit3.spm: 64000 pieces, 64002 ids).
        model_type: ``'unigram'`` (XLM-R's) or ``'bpe'``.
        character_coverage: Share of characters the pieces cover; the rarest others become ``<unk>``.
        user_defined_symbols: Pieces always kept whole (never the five special tokens).
        max_sentences: Train on a random sample of this many sentences (0: all).
        hard_vocab_limit: False allows fewer pieces than ``vocab_size`` when the text is too small.
        num_threads: Trainer threads.
        log: Progress messages (None: quiet, also silences SentencePiece's own log).

    Returns:
        ``out_file``.
    """
    spm = require('sentencepiece', 'train_sentencepiece')
    if model_type not in ('unigram', 'bpe'):
        raise ValueError(f"model_type must be 'unigram' or 'bpe', got {model_type!r}")
    reserved = set(FAIRSEQ_SPECIALS) | {'<mask>'}
    clash = sorted(set(user_defined_symbols) & reserved)
    if clash:
        raise ValueError(f'user_defined_symbols {clash} clash with the XLM-R special tokens {sorted(reserved)}')
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter_lines(files, log), model_writer=model, vocab_size=vocab_size,
            model_type=model_type, character_coverage=character_coverage,
            user_defined_symbols=list(user_defined_symbols), unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
            unk_piece='<unk>', bos_piece='<s>', eos_piece='</s>', input_sentence_size=max_sentences,
            shuffle_input_sentence=True, hard_vocab_limit=hard_vocab_limit, num_threads=num_threads,
            minloglevel=0 if log else 2)
    except RuntimeError as err:
        found = re.search(r'Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)', str(err))
        if found is None:
            raise
        raise ValueError(f'the texts {list(files)} support at most {found.group(2)} SentencePiece pieces, not '
                         f'{found.group(1)}: lower vocab_size (--vocab-size), add text, or let the vocabulary '
                         f'come out smaller (hard_vocab_limit=False, --soft-vocab-limit)') from None
    _write_atomic(out_file, model.getvalue())
    if log:
        sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
        log(f'wrote {out_file}: {len(sp)} SentencePiece pieces, {len(sp) + 2} tokenizer ids '
            f'(<s>=0 <pad>=1 </s>=2 <unk>=3 <mask>={len(sp) + 1})')
    return out_file


def train_wordpiece(files: Sequence[str], out_file: str, vocab_size: int, lowercase: bool = True,
                    strip_accents: Optional[bool] = None, min_frequency: int = 2, limit_alphabet: int = 1000,
                    log: Log = print) -> str:
    """Train a BERT WordPiece vocabulary with HF ``tokenizers`` and write it as ``vocab.txt``.

    Args:
        files: UTF-8 text files, one sentence a line.
        out_file: The ``vocab.txt`` to write (a directory: ``<dir>/vocab.txt``).
        vocab_size: Tokens, the five special tokens included.
        lowercase: Uncased vocabulary (as bert-base-uncased); load it with the same ``lowercase``.
        strip_accents: Strip accents; None follows ``lowercase``.
        min_frequency: Merges seen fewer times are not learned.
        limit_alphabet: Keep at most this many distinct characters.
        log: Progress messages (None: quiet, also hides the progress bar).

    Returns:
        The path of the written ``vocab.txt``.
    """
    tk = require('tokenizers', 'train_wordpiece')
    if osp.isdir(out_file):
        out_file = osp.join(out_file, 'vocab.txt')
    tokenizer = tk.Tokenizer(tk.models.WordPiece(unk_token=SPECIAL_TOKENS['unk']))
    tokenizer.normalizer = bert_normalizer(lowercase, strip_accents)
    tokenizer.pre_tokenizer = tk.pre_tokenizers.BertPreTokenizer()
    specials = [SPECIAL_TOKENS[k] for k in ('pad', 'unk', 'bos', 'eos', 'mask')]
    trainer = tk.trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                           show_progress=log is not None, special_tokens=specials,
                                           limit_alphabet=limit_alphabet, continuing_subword_prefix='##')
    tokenizer.train_from_iterator(iter_lines(files, log), trainer=trainer)
    vocab = sorted(tokenizer.get_vocab(with_added_tokens=True).items(), key=lambda kv: kv[1])
    if [i for _, i in vocab] != list(range(len(vocab))) or [t for t, _ in vocab[:5]] != specials:
        raise RuntimeError(f'tokenizers returned an unexpected vocabulary layout: {vocab[:8]} ...')
    _write_atomic(out_file, ''.join(f'{t}\n' for t, _ in vocab).encode('utf-8'))
    if log:
        log(f'wrote {out_file}: {len(vocab)} WordPiece tokens ([PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4)')
    return out_file
