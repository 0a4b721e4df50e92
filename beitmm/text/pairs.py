"""Sentence-pair packing for GLUE-style tasks: ``[CLS] a [SEP] b [SEP]`` with segment ids 0 / 1.

BERT's layout (``transformers``' ``build_inputs_with_special_tokens`` / ``create_token_type_ids_from_sequences``
for ``BertTokenizer``); for SentencePiece vocabularies (RoBERTa / XLM-R, BEiT-3) the separator is doubled,
``<s> a </s></s> b </s>``, as XLM-R's tokenizer builds pairs (segment ids are then unused: no token-type table).
Too long pairs lose tokens from the end of the longer text first (``truncation='longest_first'``; a tie trims b).
"""
from typing import Dict, List, Sequence, Tuple, Union

import torch

from .base import BaseTextTokenizer


def pack_pair(tokenizer: BaseTextTokenizer, a: str, b: str, max_length: int) -> Tuple[List[int], List[int], bool]:
    """Ids and segment ids of one pair, truncated longest-first to ``max_length``.

    Args:
        tokenizer: A beitmm text tokenizer.
        a: First text.
        b: Second text.
        max_length: Tokens of the pair, special tokens included.

    Returns:
        ``(ids, segments, truncated)``.
    """
    double = type(tokenizer).__name__ != 'WordPieceTokenizer'  # RoBERTa / XLM-R: </s></s> between the texts
    ia, ib = tokenizer.encode_plain(a), tokenizer.encode_plain(b)
    room = max_length - (4 if double else 3)
    if room < 0:
        raise ValueError(f'max_length {max_length} leaves no room for a pair (at least {4 if double else 3})')
    truncated = len(ia) + len(ib) > room
    while len(ia) + len(ib) > room:
        if len(ia) > len(ib):
            ia = ia[:-1]
        else:
            ib = ib[:-1]
    first = [tokenizer.cls_id] + ia + [tokenizer.sep_id]
    second = ([tokenizer.sep_id] if double else []) + ib + [tokenizer.sep_id]
    return first + second, [0] * len(first) + [1] * len(second), truncated


def encode_pairs(tokenizer: BaseTextTokenizer, texts_a: Sequence[str], texts_b: Sequence[str], max_length: int,
                 padding: str = 'longest') -> Dict[str, Union[torch.Tensor, int]]:
    """Pack and pad a batch of pairs.

    Args:
        tokenizer: A beitmm text tokenizer.
        texts_a: First texts.
        texts_b: Second texts (as many).
        max_length: Tokens per pair, special tokens included.
        padding: ``'longest'`` or ``'max_length'``.

    Returns:
        ``input_ids`` [B, L], ``token_types`` [B, L], ``padding_mask`` [B, L] (True at padding) and
        ``num_truncated``.
    """
    if len(texts_a) != len(texts_b):
        raise ValueError(f'encode_pairs: {len(texts_a)} first texts but {len(texts_b)} second texts')
    packed = [pack_pair(tokenizer, a, b, max_length) for a, b in zip(texts_a, texts_b, strict=True)]
    length = max_length if padding == 'max_length' else max((len(p[0]) for p in packed), default=3)
    ids = torch.full((len(packed), length), tokenizer.pad_id, dtype=torch.long)
    types = torch.zeros((len(packed), length), dtype=torch.long)
    pad = torch.ones((len(packed), length), dtype=torch.bool)
    for i, (seq, seg, _) in enumerate(packed):
        ids[i, :len(seq)], types[i, :len(seq)] = torch.tensor(seq), torch.tensor(seg)
        pad[i, :len(seq)] = False
    num = sum(p[2] for p in packed)
    tokenizer._count_truncated(num, len(packed), max_length, 'warn')
    return dict(input_ids=ids, token_types=types, padding_mask=pad, num_truncated=num)
