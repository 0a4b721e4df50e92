"""Attention masks of a bidirectional encoder fine-tuned as a generator (s2s-ft; BEiT-3 captioning).

Every token is labelled by a *segment* and a *step*:

- ``PREFIX`` (step 0): what is conditioned on (BEiT-3: the image tokens; s2s-ft: the source text);
- ``TARGET`` (step i = index in the target, 0-based): the generated sequence (BEiT-3: the caption from ``<s>``);
- ``PSEUDO`` (step i): s2s-ft's pseudo-masked fine-tuning, one pseudo token per target token i
  (s2s-ft ``s2s_ft/modeling.py``, ``BertForSequenceToSequenceWithPseudoMask.create_attention_mask``).

A query may attend a key when the visibility table allows it (and the key is not padding):

============  ======  =================  =====================
query / key   PREFIX  TARGET j           PSEUDO j
============  ======  =================  =====================
PREFIX         yes     no                 no
TARGET i       yes     j <= i (causal)    no
PSEUDO i       yes     j < i              j == i (itself)
============  ======  =================  =====================

Masks follow ``beitmm.models.layers.attention_masks``: bool, True = may attend, shaped [B, 1, Nq, Nk] (B may be
1 and broadcast). A padded query still gets a row with visible keys (its table row), so no softmax row is empty.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

PREFIX, TARGET, PSEUDO = 0, 1, 2


def segment_attention_mask(query_segments: Tensor, query_steps: Tensor, key_segments: Optional[Tensor] = None,
                           key_steps: Optional[Tensor] = None, key_padding: Optional[Tensor] = None) -> Tensor:
    """Visibility of keys to queries from their segment / step labels (the table of the module docstring).

    Args:
        query_segments: ``PREFIX`` / ``TARGET`` / ``PSEUDO`` per query, [Nq] or [B, Nq].
        query_steps: Target index per query (ignored for the prefix), same shape.
        key_segments: Labels of the keys, [Nk] or [B, Nk] (default: the queries', i.e. self-attention).
        key_steps: Target index per key (default: the queries').
        key_padding: Bool [B, Nk] (or [Nk]), True at padded keys, which no query sees.

    Returns:
        Bool [B or 1, 1, Nq, Nk], True where the query may attend the key.
    """
    if key_segments is None:
        key_segments, key_steps = query_segments, query_steps
    if key_steps is None or query_segments.shape != query_steps.shape or key_segments.shape != key_steps.shape:
        raise ValueError('segments and steps must come in pairs of the same shape, got '
                         f'{tuple(query_segments.shape)} / {tuple(query_steps.shape)} (queries) and '
                         f'{tuple(key_segments.shape)} / {None if key_steps is None else tuple(key_steps.shape)}')
    qs, qi = query_segments.unsqueeze(-1), query_steps.unsqueeze(-1)  # [.., Nq, 1]
    ks, ki = key_segments.unsqueeze(-2), key_steps.unsqueeze(-2)  # [.., 1, Nk]
    see = ks == PREFIX
    see = see | ((ks == TARGET) & (((qs == TARGET) & (ki <= qi)) | ((qs == PSEUDO) & (ki < qi))))
    see = see | ((ks == PSEUDO) & (qs == PSEUDO) & (ki == qi))
    if key_padding is not None:
        if key_padding.dtype != torch.bool or key_padding.shape[-1] != see.shape[-1]:
            raise ValueError(f'key_padding must be bool [B, {see.shape[-1]}] (True at padding), got '
                             f'{key_padding.dtype} {tuple(key_padding.shape)}')
        see = see & ~key_padding.unsqueeze(-2)
    if see.dim() == 2:
        see = see.unsqueeze(0)
    return see.unsqueeze(1)  # [B, 1, Nq, Nk]


def seq2seq_layout(prefix_len: int, target_len: int, pseudo: bool = False, target_start: int = 0,
                   device: Optional[torch.device] = None) -> Tuple[Tensor, Tensor]:
    """Segment and step labels of ``[prefix; target]`` (``pseudo``: ``[prefix; target; pseudo]``).

    Args:
        prefix_len: Prefix tokens P (image tokens; source tokens with their padding).
        target_len: Target tokens T (with their padding).
        pseudo: Append one pseudo token per target token (s2s-ft pseudo-masked fine-tuning).
        target_start: Step of the first target token (a decoding step feeding targets ``start..start+T-1``).
        device: Device of the labels.

    Returns:
        ``segments`` and ``steps``, LongTensors [P + T] (or [P + 2T]).
    """
    steps_t = torch.arange(target_start, target_start + target_len, device=device)
    segments = [torch.full((prefix_len, ), PREFIX, device=device), torch.full((target_len, ), TARGET, device=device)]
    steps = [torch.zeros(prefix_len, dtype=torch.long, device=device), steps_t]
    if pseudo:
        segments.append(torch.full((target_len, ), PSEUDO, device=device))
        steps.append(steps_t)
    return torch.cat(segments).long(), torch.cat(steps)


def seq2seq_mask(prefix_len: int, target_len: int, prefix_padding: Optional[Tensor] = None,
                 target_padding: Optional[Tensor] = None, pseudo: bool = False,
                 device: Optional[torch.device] = None) -> Tensor:
    """Training (and full-recompute) mask of ``[prefix; target]`` or ``[prefix; target; pseudo]``.

    Prefix <-> prefix full, target -> prefix full, target -> target causal (self included), prefix -> target
    blocked, padding never visible; with ``pseudo`` the pseudo rows / columns of the table too.

    Args:
        prefix_len: Prefix tokens P.
        target_len: Target tokens T.
        prefix_padding: Bool [B, P], True at padding (e.g. a padded source), or None.
        target_padding: Bool [B, T], True at padding (also masks the pseudo tokens of padded targets), or None.
        pseudo: Include the pseudo segment.
        device: Device (default: the paddings').

    Returns:
        Bool [B or 1, 1, N, N], N = P + T (+ T).
    """
    ref = prefix_padding if prefix_padding is not None else target_padding
    device = device or (ref.device if ref is not None else None)
    segments, steps = seq2seq_layout(prefix_len, target_len, pseudo, device=device)
    return segment_attention_mask(segments, steps, key_padding=_join_padding(
        prefix_len, target_len, prefix_padding, target_padding, pseudo, device))


def decode_step_mask(prefix_len: int, num_cached: int, num_new: int, prefix_padding: Optional[Tensor] = None,
                     device: Optional[torch.device] = None) -> Tensor:
    """Mask of one incremental decoding step: new target tokens against the cache plus themselves.

    The keys are ``[prefix (P); targets 0..num_cached-1 (cached); the new targets]``, the queries the new targets
    ``num_cached..num_cached+num_new-1`` (BEiT-3 / s2s-ft feed ``[previous token, MASK]``: ``num_new=2``). These
    are the last ``num_new`` rows of :func:`seq2seq_mask` over ``P + num_cached + num_new`` tokens.

    Args:
        prefix_len: Prefix tokens P in the cache.
        num_cached: Target tokens in the cache.
        num_new: Target tokens fed in this step.
        prefix_padding: Bool [B, P], True at padding, or None.
        device: Device (default: the padding's).

    Returns:
        Bool [B or 1, 1, num_new, P + num_cached + num_new].
    """
    device = device or (prefix_padding.device if prefix_padding is not None else None)
    k_seg, k_step = seq2seq_layout(prefix_len, num_cached + num_new, device=device)
    q_seg, q_step = k_seg[-num_new:], k_step[-num_new:]
    padding = _join_padding(prefix_len, num_cached + num_new, prefix_padding, None, False, device)
    return segment_attention_mask(q_seg, q_step, k_seg, k_step, padding)


def _join_padding(prefix_len: int, target_len: int, prefix_padding: Optional[Tensor],
                  target_padding: Optional[Tensor], pseudo: bool, device: Optional[torch.device]) -> Optional[Tensor]:
    """Key padding [B, N] of the layout, or None when nothing is padded."""
    if prefix_padding is None and target_padding is None:
        return None
    for name, pad, n in (('prefix_padding', prefix_padding, prefix_len), ('target_padding', target_padding,
                                                                          target_len)):
        if pad is not None and (pad.dim() != 2 or pad.shape[1] != n):
            raise ValueError(f'{name} must be bool [B, {n}], got {tuple(pad.shape)}')
    batch = (prefix_padding if prefix_padding is not None else target_padding).shape[0]
    prefix = prefix_padding if prefix_padding is not None else torch.zeros(batch, prefix_len, dtype=torch.bool,
                                                                              device=device)
    target = target_padding if target_padding is not None else torch.zeros(batch, target_len, dtype=torch.bool,
                                                                              device=device)
    return torch.cat([prefix, target] + [target] * pseudo, dim=1).bool()
