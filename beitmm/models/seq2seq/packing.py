"""s2s-ft input packing and target corruption, shared by the three algorithms.

As s2s-ft's ``s2s_ft/utils.py`` ``Seq2seqDatasetForBert.__getitem__`` and ``s2s_ft/modeling.py``
``create_mask_and_position_ids``.

Source ``[CLS] src [SEP]`` (causal fine-tuning: no trailing [SEP]) padded to the batch's longest; target
``tgt [SEP]`` (causal: input ``[SEP] tgt``, labels ``tgt [SEP]``) padded likewise; pseudo tokens (pseudo-masked)
one per target token. Positions: source ``0..n_src-1``, target token i ``n_src + i`` with ``n_src`` the sample's
*real* source length, each pseudo token its target's position; segment ids 0 (source) and 1 (target, pseudo) by
default, or the model's ``source_type_id`` / ``target_type_id``.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch
from torch import Tensor

from beitmm.text.masking import corrupt  # noqa: F401  (one 80/10/10 for models and data)


@dataclass
class Packed:
    """One packed batch: ``[source; target (; pseudo)]`` with its labels, positions, segments and paddings.

    Attributes:
        source: Source ids [B, S].
        source_padding: Bool [B, S], True at padding.
        target: Target input ids [B, T] (corrupted as the algorithm wants).
        target_padding: Bool [B, T].
        labels: Ids to predict [B, T] (pad where nothing is predicted).
        predict: Bool [B, T], positions whose label is predicted (at the target, or at its pseudo token).
        pseudo: Pseudo-token ids [B, T], or None.
        source_len: Real source tokens per sample [B].
    """
    source: Tensor
    source_padding: Tensor
    target: Tensor
    target_padding: Tensor
    labels: Tensor
    predict: Tensor
    pseudo: Optional[Tensor]
    source_len: Tensor

    def ids(self) -> Tensor:
        """The packed input ids [B, S + T (+ T)]."""
        parts = [self.source, self.target] + ([self.pseudo] if self.pseudo is not None else [])
        return torch.cat(parts, dim=1)

    def positions(self) -> Tensor:
        """Position ids [B, S + T (+ T)]: source 0.., target (and pseudo) ``n_src + i``."""
        S, T = self.source.shape[1], self.target.shape[1]
        src = torch.arange(S, device=self.source.device)[None].expand(len(self.source), -1)
        tgt = self.source_len[:, None] + torch.arange(T, device=self.source.device)[None]  # [B, T]
        return torch.cat([src, tgt] + ([tgt] if self.pseudo is not None else []), dim=1)

    def segments(self, source_type_id: int = 0, target_type_id: int = 1) -> Tensor:
        """Segment (token type) ids [B, S + T (+ T)]: one id for the source, one for target and pseudo tokens.

        s2s-ft ``modeling.py:637-640``: ``source_type_id`` / ``target_type_id``, 0 / 1 by default; UniLM v1's s2s
        ids are 4 / 5.
        """
        n_tgt = self.target.shape[1] * (2 if self.pseudo is not None else 1)
        return torch.cat([torch.full_like(self.source, source_type_id),
                          torch.full((len(self.source), n_tgt), target_type_id, dtype=torch.long,
                                     device=self.source.device)], dim=1)


def pad(seqs: Sequence[Sequence[int]], pad_id: int, device: torch.device):
    """Right-pad id lists into ``(ids [B, L], padding [B, L])``."""
    length = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), length), pad_id, dtype=torch.long, device=device)
    padding = torch.ones(len(seqs), length, dtype=torch.bool, device=device)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.as_tensor(list(s), dtype=torch.long, device=device)
        padding[i, :len(s)] = False
    return ids, padding


def pack_sources(sources: List[List[int]], algorithm: str, sep_id: int, pad_id: int,
                 device: Optional[torch.device] = None):
    """The padded source segment ``(ids [B, S], padding [B, S])`` of an algorithm (causal: no trailing [SEP]).

    Training (:func:`pack`) and decoding build the prefix with this one function.
    """
    if algorithm == 'causal':
        sources = [s[:-1] if len(s) > 1 and s[-1] == sep_id else s for s in sources]  # no trailing [SEP] in v0
    return pad(sources, pad_id, device or torch.device('cpu'))


def pack(sources: List[List[int]], targets: List[List[int]], algorithm: str, mask_id: int, pad_id: int,
         sep_id: int, random_ids: Tensor, target_mask_prob: float, num_max_mask_token: int = 0,
         generator: Optional[torch.Generator] = None, device: Optional[torch.device] = None) -> Packed:
    """Pack tokenized pairs for one algorithm (s2s-ft ``Seq2seqDatasetForBert.__getitem__``, by ``--mask_way``).

    Args:
        sources: ``[CLS] src [SEP]`` id lists (truncated by the caller).
        targets: ``tgt [SEP]`` id lists (truncated by the caller).
        algorithm: ``'pseudo-masked'`` (s2s-ft v2), ``'masked'`` (v1) or ``'causal'`` (v0).
        mask_id: [MASK] id.
        pad_id: Padding id.
        sep_id: [SEP] id (the causal algorithm's start-of-target token).
        random_ids: Candidate ids of random replacements.
        target_mask_prob: pseudo-masked: probability that a real target token is replaced by its corrupted pseudo
            token ("word drop"); masked: fraction of target tokens corrupted and predicted; causal: probability
            that an input target token (after the first) is corrupted.
        num_max_mask_token: masked: cap on corrupted tokens per target (s2s-ft's ``num_max_mask_token``; 0: none).
        generator: Random generator.
        device: Device.

    Returns:
        The packed batch.
    """
    device = device or torch.device('cpu')
    source, source_padding = pack_sources(sources, algorithm, sep_id, pad_id, device)
    # causal: [SEP] is the start token and the labels end with [SEP]
    inputs = [[sep_id] + t[:-1] for t in targets] if algorithm == 'causal' else targets
    labels, target_padding = pad(targets, pad_id, device)
    target, _ = pad(inputs, pad_id, device)
    real = ~target_padding
    source_len = (~source_padding).sum(1)  # [B] real source tokens
    rand = lambda: torch.rand(target.shape, generator=generator, device=device)  # noqa: E731
    pseudo = None
    if algorithm == 'pseudo-masked':
        pseudo = corrupt(labels, real, mask_id, random_ids, generator=generator)
        drop = real & (rand() < target_mask_prob)
        target = torch.where(drop, pseudo, target)
        predict = real
    elif algorithm == 'masked':
        m = real.sum(1)  # [B]
        k = torch.clamp((m.float() * target_mask_prob).long(), min=1)
        if num_max_mask_token:
            k = torch.clamp(k, max=num_max_mask_token)
        order = torch.where(real, rand(), torch.full_like(rand(), 2.)).argsort(1).argsort(1)
        predict = order < k[:, None]
        target = corrupt(target, predict, mask_id, random_ids, generator=generator)
    elif algorithm == 'causal':
        first = torch.zeros_like(real)
        first[:, 0] = True
        drop = real & ~first & (rand() < target_mask_prob)
        target = corrupt(target, drop, mask_id, random_ids, generator=generator)
        predict = real
    else:
        raise ValueError(f"unknown s2s-ft algorithm {algorithm!r}: 'pseudo-masked', 'masked' or 'causal'")
    labels = labels.masked_fill(~predict, pad_id)
    return Packed(source, source_padding, target, target_padding, labels, predict, pseudo, source_len)
