"""Backbone outputs shared by the image backbones (``beitmm.BEiT``, ``beitmm.VLMo`` / ``beitmm.VLBEiT``).

``out_indices`` picks blocks, ``out_type`` shapes each one's tokens: mmpretrain's names for classification and
linear probing, mmseg's ``featmap`` for dense prediction (UperNet's ``Feature2Pyramid``).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from torch import Tensor

OUT_TYPES = ('raw', 'cls_token', 'featmap', 'avg_featmap')


def resolve_out_indices(out_indices: Union[int, Sequence[int]], depth: int, owner: str = 'backbone') -> List[int]:
    """Sorted block indices, negatives counted from the end; an index listed twice stays twice.

    Args:
        out_indices: Block index or indices (``-1``: the last block).
        depth: Number of blocks.
        owner: Name used in the error message.

    Returns:
        The indices in ``[0, depth)``, sorted.
    """
    given = [out_indices] if isinstance(out_indices, int) else list(out_indices)
    if not given:
        raise ValueError(f'{owner}: out_indices is empty; give at least one block index')
    indices = sorted(i + depth if i < 0 else int(i) for i in given)
    if any(not 0 <= i < depth for i in indices):
        raise ValueError(f'{owner}: out_indices {given} out of range for {depth} blocks')
    return indices


def check_out_type(out_type: str, owner: str = 'backbone') -> str:
    """``out_type`` itself, or a ValueError naming the allowed values."""
    if out_type not in OUT_TYPES:
        raise ValueError(f'{owner}: out_type {out_type!r} is not one of {OUT_TYPES}')
    return out_type


def format_tokens(x: Tensor, grid: Tuple[int, int], out_type: str, norm: Optional[nn.Module] = None,
                  with_cls_token: bool = True) -> Tensor:
    """Shape one block's tokens as ``out_type`` asks.

    Args:
        x: Tokens [B, 1 + Hp * Wp, C] (cls first), or [B, Hp * Wp, C] without the cls token.
        grid: Patch grid (Hp, Wp).
        out_type: 'raw' [B, N, C] | 'cls_token' [B, C] | 'featmap' [B, C, Hp, Wp] | 'avg_featmap' [B, C].
        norm: The final norm to apply, or None: after the mean for 'avg_featmap' (unilm's ``fc_norm``), to every
            token before the selection otherwise.
        with_cls_token: Whether ``x`` starts with the cls token.

    Returns:
        The formatted output.
    """
    patches = x[:, 1:] if with_cls_token else x  # [B, Hp * Wp, C]
    if out_type == 'avg_featmap':
        pooled = patches.mean(dim=1)  # [B, C]
        return pooled if norm is None else norm(pooled)
    if norm is not None:
        x = norm(x)
        patches = x[:, 1:] if with_cls_token else x
    if out_type == 'featmap':
        return patches.transpose(1, 2).reshape(x.shape[0], -1, *grid)  # [B, C, Hp, Wp]
    return x[:, 0] if out_type == 'cls_token' else x
