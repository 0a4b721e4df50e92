"""BERT masked language modeling draws: which tokens to predict (token or whole-word) and their 80/10/10 corruption.

One implementation shared by the models (s2s-ft packing, ``beitmm.TextMaskedLM``) and the data pipeline
(``beitmm.MaskText``). Whole words follow the tokenizers' piece conventions: SentencePiece (BEiT-3's ``beit3.spm``)
starts a word with a piece beginning with '▁'; WordPiece (VLMo's BERT vocabulary) continues one with a piece
beginning with '##' (HF ``DataCollatorForWholeWordMask``'s rule).
"""
from typing import List, Optional, Sequence

import torch
from torch import Tensor


def corrupt(ids: Tensor, select: Tensor, mask_id: int, random_ids: Tensor, keep_prob: float = 0.1,
            random_prob: float = 0.1, generator: Optional[torch.Generator] = None) -> Tensor:
    """BERT's 80 / 10 / 10 corruption of the selected positions: [MASK], a random id, or kept.

    Args:
        ids: Ids of any shape, e.g. [B, T] or [T].
        select: Bool, same shape, the positions to corrupt.
        mask_id: The [MASK] id.
        random_ids: Ids a random replacement is drawn from (the vocabulary without the special tokens) [V'].
        keep_prob: Probability a selected token is kept (0.1).
        random_prob: Probability it becomes a random id (0.1); [MASK] otherwise.
        generator: Random generator (default: torch's global one).

    Returns:
        The corrupted ids, same shape.
    """
    u = torch.rand(ids.shape, generator=generator, device=ids.device)
    rand = random_ids[torch.randint(len(random_ids), ids.shape, generator=generator, device=ids.device)]
    out = torch.where(select & (u < 1 - keep_prob - random_prob), torch.full_like(ids, mask_id), ids)
    return torch.where(select & (u >= 1 - keep_prob - random_prob) & (u < 1 - keep_prob), rand, out)


def word_starts(pieces: Sequence[str], scheme: str) -> List[bool]:
    """Whether each piece begins a word.

    Args:
        pieces: Vocabulary pieces of one text (no special tokens).
        scheme: ``'sentencepiece'`` ('▁' starts a word) or ``'wordpiece'`` ('##' continues one).

    Returns:
        One bool per piece; the first piece always starts a word.
    """
    if scheme == 'sentencepiece':
        starts = [p.startswith('\u2581') for p in pieces]
    elif scheme == 'wordpiece':
        starts = [not p.startswith('##') for p in pieces]
    else:
        raise ValueError(f"word scheme must be 'sentencepiece' or 'wordpiece', got {scheme!r}")
    if starts:
        starts[0] = True
    return starts


def num_to_mask(num_candidates: int, ratio: float) -> int:
    """Tokens to predict among ``num_candidates``: ``round(n * ratio)``, at least 1 when there is a candidate.

    Args:
        num_candidates: Tokens that may be predicted.
        ratio: Fraction to predict.

    Returns:
        int: The count.
    """
    return max(1, int(round(num_candidates * ratio))) if num_candidates > 0 else 0


def select_tokens(num_tokens: int, candidates: Sequence[int], ratio: float, words: Optional[Sequence[int]] = None,
                  generator: Optional[torch.Generator] = None, budget: Optional[int] = None) -> Tensor:
    """Choose the positions to predict: ``num_to_mask`` uniformly random tokens, or whole words.

    Whole words (``words`` given: the word number of every candidate) follow HF ``DataCollatorForWholeWordMask``:
    the words are visited in a random order and a word is taken whole while the count stays within the budget
    (a word that would exceed it is passed over), so the count may fall short of the budget, never above it.

    Args:
        num_tokens: Length of the sequence.
        candidates: Positions that may be predicted (not special, not padding), increasing.
        ratio: Fraction of the candidates to predict.
        words: Word id of each candidate (same length as ``candidates``), or None for token-level masking.
        generator: Random generator (default: torch's global one).
        budget: Tokens to predict; None: ``num_to_mask(len(candidates), ratio)``.

    Returns:
        Bool [num_tokens], True at the chosen positions.
    """
    chosen = torch.zeros(num_tokens, dtype=torch.bool)
    budget = num_to_mask(len(candidates), ratio) if budget is None else min(budget, len(candidates))
    if budget == 0:
        return chosen
    cand = torch.as_tensor(list(candidates), dtype=torch.long)
    if words is None:
        chosen[cand[torch.randperm(len(cand), generator=generator)[:budget]]] = True
        return chosen
    word_ids = torch.as_tensor(list(words), dtype=torch.long)
    taken = 0
    for w in torch.unique(word_ids)[torch.randperm(len(torch.unique(word_ids)), generator=generator)].tolist():
        if taken >= budget:
            break
        members = cand[word_ids == w]
        if taken + len(members) > budget:
            continue
        chosen[members] = True
        taken += len(members)
    return chosen
