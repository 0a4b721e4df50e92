"""s2s-ft's text handling around the model: tokenized-format ids, n-gram ignore words, output detokenization.

- Tokenized format (``s2s_ft/utils.py:313-320``; unilm-v1 ``--tokenized_input``): a list of WordPiece tokens is
  converted to ids token by token (``convert_tokens_to_ids``: an unknown token is [UNK]), never re-tokenized, so
  a token such as ``[X_SEP]`` stays one id when the vocabulary has it.
- ``--forbid_ignore_word`` (``decode_seq2seq.py:177-184``): ``|``-joined words, each upper-cased when written in
  brackets, each looked up as one vocabulary token.
- Output text (``decode_seq2seq.py:49-56,270-283``): stop at the first [SEP] / [PAD], glue ``##`` pieces to the
  token before, join with spaces; [UNK] and punctuation spacing are kept. SentencePiece (s2s-ft's ``xlm-roberta``
  branch): the pieces up to the first ``</s>`` / ``<pad>`` through ``convert_tokens_to_string`` (joined, ``▁`` read
  as a space, stripped; ``<unk>`` kept); ``--forbid_ignore_word`` words are looked up as pieces
  (``convert_tokens_to_ids``), else as the one token their text encodes to.
"""
from typing import Dict, List, Optional, Sequence, Union

from mmengine.logging import print_log

DETOKENIZE = ('s2s-ft', 'hf')


def token_vocab(tokenizer) -> Optional[Dict[str, int]]:
    """The token -> id table of a WordPiece tokenizer (``vocab``), None for other tokenizers."""
    vocab = getattr(tokenizer, 'vocab', None)
    return vocab if isinstance(vocab, dict) else None


def piece_ids(tokenizer, pieces: Sequence[str]) -> List[int]:
    """Ids of pre-tokenized pieces, one id per piece (unknown pieces: [UNK]), as ``convert_tokens_to_ids``.

    Args:
        tokenizer: A WordPiece tokenizer (other tokenizers: the pieces are joined and tokenized again).
        pieces: The tokens of one text.

    Returns:
        The ids, without [CLS] / [SEP].
    """
    vocab = token_vocab(tokenizer)
    if vocab is None:  # SentencePiece: no WordPiece table to look the pieces up in
        return tokenizer.encode_plain(' '.join(pieces).replace(' ##', ''))
    return [vocab.get(p, tokenizer.unk_id) for p in pieces]


def ignore_word_ids(tokenizer, words: Union[str, Sequence[str]]) -> tuple:
    """Ids of s2s-ft's ``--forbid_ignore_word`` list (``'.|[X_SEP]'`` or a sequence of words).

    Args:
        tokenizer: The text tokenizer.
        words: ``|``-joined words or a sequence; a bracketed word is upper-cased as s2s-ft does.

    Returns:
        One id per word: its vocabulary id; a word outside the vocabulary maps to [UNK] as in s2s-ft (logged).
    """
    if isinstance(words, str):
        words = [w for w in words.split('|') if w]
    vocab = token_vocab(tokenizer)
    out = []
    for w in words:
        w = w.upper() if w.startswith('[') and w.endswith(']') else w
        if vocab is not None:
            out.append(vocab.get(w, tokenizer.unk_id))
            if w not in vocab:
                print_log(f'ngram_ignore_words: {w!r} is not a token of {tokenizer.vocab_file}; it maps to [UNK] '
                          '(as s2s-ft convert_tokens_to_ids)', logger='current', level=30)
            continue
        piece_to_id = getattr(tokenizer, 'piece_to_id', None)  # SentencePiece: s2s-ft looks the piece up (XLM-R)
        if piece_to_id is not None and piece_to_id(w) != tokenizer.unk_id:
            out.append(piece_to_id(w))
            continue
        ids = tokenizer.encode_plain(w)
        if len(ids) != 1 or ids[0] == tokenizer.unk_id:
            raise ValueError(f'ngram_ignore_words: {w!r} is not one token of {tokenizer.vocab_file} '
                             f'(pieces {tokenizer.tokenize(w)}); give words of the vocabulary')
        out.append(ids[0])
    return tuple(out)


def s2s_detokenize(tokenizer, ids: Sequence[int], id_to_token: Optional[Dict[int, str]] = None) -> str:
    """s2s-ft's output text of generated ids (module docstring; SentencePiece: ``convert_tokens_to_string``).

    Args:
        tokenizer: The text tokenizer.
        ids: Generated ids (no initial tokens).
        id_to_token: The inverse of the WordPiece vocabulary (built when not given).

    Returns:
        The text s2s-ft's ``decode_seq2seq.py`` writes.
    """
    ids = [int(i) for i in ids]
    stop = next((k for k, i in enumerate(ids) if i in (tokenizer.eos_id, tokenizer.pad_id)), len(ids))
    vocab = token_vocab(tokenizer)
    if vocab is None and hasattr(tokenizer, 'pieces_to_text'):  # xlm-roberta: convert_tokens_to_string, specials kept
        return tokenizer.pieces_to_text([tokenizer.id_to_piece(i) for i in ids[:stop]])
    if vocab is None:
        return tokenizer.decode(ids[:stop], skip_special_tokens=True)
    if id_to_token is None:
        id_to_token = {i: t for t, i in vocab.items()}
    words: List[str] = []
    for i in ids[:stop]:
        t = id_to_token.get(i, '[UNK]')
        if t.startswith('##') and words:
            words[-1] += t[2:]
        else:
            words.append(t)
    return ' '.join(words)
