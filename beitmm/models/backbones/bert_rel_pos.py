"""UniLM v2's relative position bias for ``beitmm.BertEncoder`` (s2s-ft ``rel_pos_bins`` / ``max_rel_pos``).

Facts from s2s-ft (``s2s_ft/modeling.py``: ``relative_position_bucket`` and ``BertModel.forward``; the decoder
``modeling_decoding.py`` slices the same matrix for its incremental steps):

- the relative position of query i and key j is ``pos[j] - pos[i]`` over the *position ids* (so s2s-ft's pseudo
  tokens, which repeat their target's position, get their target's relative positions);
- it is bucketed T5-style, bidirectionally: half of the ``rel_pos_bins`` buckets for keys after the query
  (``rel > 0``), the other half for the rest; inside a half, distances below a quarter of the bins are exact, larger
  ones fall into logarithmic buckets up to ``max_rel_pos`` (further distances share the last bucket);
- one ``Linear(rel_pos_bins, heads, bias=False)`` (``bert.rel_pos_bias``, raw unilm2 files
  ``bert.encoder.rel_pos_bias``) maps the one-hot bucket to a bias per head, shared by every layer and added to the
  scaled attention scores next to the attention mask.
"""
import math

import torch
import torch.nn.functional as F
from torch import Tensor


def check_rel_pos(rel_pos_bins: int, max_rel_pos: int) -> None:
    """Raise unless ``rel_pos_bins`` / ``max_rel_pos`` define buckets (0 / any: no relative bias).

    Args:
        rel_pos_bins: Buckets (even, at least 4; unilm2: the checkpoint's ``rel_pos_bias`` columns).
        max_rel_pos: Distance the logarithmic buckets reach; must exceed ``rel_pos_bins // 4`` (the exact range).
    """
    if rel_pos_bins == 0:
        return
    if rel_pos_bins < 4 or rel_pos_bins % 2:
        raise ValueError(f'BertEncoder rel_pos_bins must be 0 (no relative bias) or an even number >= 4, got '
                         f'{rel_pos_bins}')
    if max_rel_pos <= rel_pos_bins // 4:
        raise ValueError(f'BertEncoder max_rel_pos ({max_rel_pos}) must exceed rel_pos_bins // 4 = '
                         f'{rel_pos_bins // 4} (the exactly counted distances) for the logarithmic buckets')


def relative_position_bucket(relative_position: Tensor, num_buckets: int, max_distance: int) -> Tensor:
    """Bidirectional T5 bucket of relative positions (key minus query), as s2s-ft computes it.

    Args:
        relative_position: Integer tensor of any shape.
        num_buckets: ``rel_pos_bins``.
        max_distance: ``max_rel_pos``.

    Returns:
        Long tensor of the same shape with values in ``[0, num_buckets)``.
    """
    half = num_buckets // 2
    ahead = (relative_position > 0).long() * half  # keys after the query: the upper half
    dist = relative_position.abs()
    exact = half // 2
    log_ratio = torch.log(dist.float().clamp(min=1) / exact) / math.log(max_distance / exact)
    far = (exact + (log_ratio * (half - exact)).long()).clamp(max=half - 1)  # .long() truncates (s2s-ft's .to(long))
    return ahead + torch.where(dist < exact, dist, far)


def rel_pos_bias(weight: Tensor, query_pos: Tensor, key_pos: Tensor, max_distance: int) -> Tensor:
    """The additive attention bias [B, heads, Nq, Nk] of queries at ``query_pos`` over keys at ``key_pos``.

    Args:
        weight: ``rel_pos_bias.weight`` [heads, rel_pos_bins].
        query_pos: Position ids [B, Nq].
        key_pos: Position ids [B, Nk] (cached keys first when decoding).
        max_distance: ``max_rel_pos``.

    Returns:
        ``weight[:, bucket(key_pos[j] - query_pos[i])]`` laid out [B, heads, Nq, Nk].
    """
    rel = key_pos[:, None, :] - query_pos[:, :, None]  # [B, Nq, Nk]
    bucket = relative_position_bucket(rel, weight.shape[1], max_distance)
    return F.embedding(bucket, weight.t()).permute(0, 3, 1, 2)  # [B, heads, Nq, Nk]


__all__ = ['check_rel_pos', 'rel_pos_bias', 'relative_position_bucket']
