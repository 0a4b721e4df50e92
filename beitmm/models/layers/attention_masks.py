"""Attention masks as additive biases: padding masks and the merge with a relative position bias.

Convention: a *padding mask* is bool [B, N] with True at padding (torchscale's and HF's
``key_padding_mask``); an *attention mask* is either bool broadcastable to [B, heads, N, N] with
True where a query may attend a key (``F.scaled_dot_product_attention``'s convention) or an additive
float mask (0 where allowed, -inf or a large negative value where not).
"""
from typing import Optional

import torch
from torch import Tensor


def padding_to_attn_mask(padding_mask: Tensor) -> Tensor:
    """Key-padding mask [B, N] (True = padding) -> bool attention mask [B, 1, 1, N] (True = attend).

    Args:
        padding_mask: Bool [B, N].

    Returns:
        Bool [B, 1, 1, N]; no query attends a padded key.
    """
    if padding_mask.dtype != torch.bool or padding_mask.dim() != 2:
        raise ValueError(f'a padding mask is bool [B, N] with True at padding, got {padding_mask.dtype} '
                         f'{tuple(padding_mask.shape)}')
    return ~padding_mask[:, None, None, :]


def to_additive(mask: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """Bool attention mask (True = attend) -> additive float mask; float masks pass through.

    Args:
        mask: Bool or float mask.
        dtype: Float dtype of the result.

    Returns:
        Float mask with 0 where attending is allowed and -inf where not.
    """
    if mask.dtype != torch.bool:
        return mask.to(dtype)
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill_(~mask, float('-inf'))


def merge_attn_bias(bias: Optional[Tensor], attn_mask: Optional[Tensor]) -> Optional[Tensor]:
    """Sum of a position bias [heads, N, N] (or [B, heads, N, N]) and an attention mask.

    Args:
        bias: Additive position bias, or None.
        attn_mask: Bool (True = attend) or additive mask broadcastable to [B, heads, N, N], or None.

    Returns:
        One additive mask (or the bool mask alone, which SDPA takes as it is), or None.
    """
    if attn_mask is None:
        return bias
    if bias is None:
        return attn_mask
    return bias + to_additive(attn_mask, bias.dtype)


def combine_masks(*masks: Optional[Tensor]) -> Optional[Tensor]:
    """Intersection of attention masks: bool masks are and-ed, any float mask makes the result additive.

    Args:
        *masks: Bool (True = may attend) or additive masks broadcastable to [B, heads, N, N]; None entries are
            skipped.

    Returns:
        The combined mask, or None when every entry is None.
    """
    present = [m for m in masks if m is not None]
    if not present:
        return None
    if all(m.dtype == torch.bool for m in present):
        out = present[0]
        for m in present[1:]:
            out = out & m
        return out
    dtype = next(m.dtype for m in present if m.dtype != torch.bool)
    out = to_additive(present[0], dtype)
    for m in present[1:]:
        out = out + to_additive(m, dtype)
    return out
