"""BERT's basic tokenization and greedy WordPiece, in Python on Python's own Unicode tables.

``transformers.BertTokenizer`` (the Python tokenizer unilm's VLMo and s2s-ft use) decides control characters,
whitespace, punctuation and combining marks with :mod:`unicodedata`, i.e. the Unicode version of the running
Python (14 for 3.11). HF ``tokenizers`` carries Unicode 8 tables, so characters assigned or recategorised after
Unicode 8 came out differently there; doing the steps here with :mod:`unicodedata` removes that gap.

The steps, in ``BertTokenizer``'s order: (lowercase the whole text), drop NUL, U+FFFD and every ``C*`` character
except tab / newline / carriage return, map those and ``Zs`` to a space, pad CJK ideographs with spaces, NFC,
``str.split``; per word lowercase, NFD and drop ``Mn`` (uncased), split off every punctuation character (``P*``
and the non-alphanumeric ASCII); then per word greedy longest-match WordPiece with ``##`` continuations.
"""
import re
import unicodedata
from typing import Dict, Iterable, List

# CJK ideograph blocks BertTokenizer pads with spaces (its _is_chinese_char ranges, Ext E as 0x2B820-0x2CEAF).
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
              (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def is_cjk(cp: int) -> bool:
    """Whether code point ``cp`` is a CJK ideograph BERT splits into a word of its own."""
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def is_punctuation(ch: str) -> bool:
    """BERT punctuation: non-alphanumeric printable ASCII, or a Unicode ``P*`` category."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith('P')


def clean_text(text: str) -> str:
    """Drop NUL, U+FFFD and control (``C*``) characters, map tab / newline / CR and ``Zs`` to spaces."""
    out = []
    for ch in text:
        if ch in ' \t\n\r':
            out.append(' ')
            continue
        cat = unicodedata.category(ch)
        if ch in '\x00\ufffd' or cat[0] == 'C':
            continue
        out.append(' ' if cat == 'Zs' else ch)
    return ''.join(out)


def strip_accents(word: str) -> str:
    """NFD, then drop the non-spacing marks (``Mn``)."""
    return ''.join(ch for ch in unicodedata.normalize('NFD', word) if unicodedata.category(ch) != 'Mn')


def split_punctuation(word: str) -> List[str]:
    """Split ``word`` so that every punctuation character is a piece of its own."""
    pieces: List[str] = []
    current = ''
    for ch in word:
        if is_punctuation(ch):
            if current:
                pieces.append(current)
                current = ''
            pieces.append(ch)
        else:
            current += ch
    return pieces + [current] if current else pieces


def basic_tokenize(text: str, lowercase: bool = True, strip: bool = True, chinese: bool = True) -> List[str]:
    """BERT's basic tokenization of a text holding no special token.

    Args:
        text: The text (a stretch between special tokens).
        lowercase: Lowercase (``do_lower_case``).
        strip: Strip accents (NFD, drop ``Mn``).
        chinese: Pad CJK ideographs with spaces.

    Returns:
        The words, before WordPiece.
    """
    text = clean_text(text)
    if chinese and not text.isascii():
        text = ''.join(f' {ch} ' if is_cjk(ord(ch)) else ch for ch in text)
    words: List[str] = []
    for word in unicodedata.normalize('NFC', text).split():
        if lowercase:
            word = word.lower()
        if strip and not word.isascii():
            word = strip_accents(word)
        words.extend(split_punctuation(word))
    return ' '.join(words).split()  # a word stripped to nothing (only marks) vanishes, as in BertTokenizer


def wordpiece(word: str, vocab: Dict[str, int], unk: str, max_chars: int) -> List[str]:
    """Greedy longest-match-first WordPiece of one word; ``[unk]`` for the whole word if any piece is missing.

    Args:
        word: One word from :func:`basic_tokenize`.
        vocab: Token -> id.
        unk: The unknown token.
        max_chars: A longer word is ``[unk]``.

    Returns:
        The pieces (continuations prefixed ``##``).
    """
    if len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else '##' + word[start:end]
            if piece in vocab:
                break
            end -= 1
        else:
            return [unk]
        pieces.append(piece)
        start = end
    return pieces


def split_special(text: str, specials: Iterable[str]) -> List[str]:
    """Split ``text`` around the special tokens written in it (exact, case-sensitive), keeping them."""
    pattern = '(' + '|'.join(re.escape(s) for s in sorted(specials, key=len, reverse=True)) + ')'
    return [part for part in re.split(pattern, text) if part]
