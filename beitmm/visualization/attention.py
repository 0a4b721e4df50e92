"""Self-attention probabilities of a BEiT backbone, recomputed from the block weights.

The backbone's :class:`~beitmm.models.layers.Attention` runs through
``F.scaled_dot_product_attention``, which never materialises the attention matrix. The
functions here recompute it from the same weights: ``q, k`` from ``qkv`` with the q bias (the
key bias is zero), the block's own relative position bias plus the backbone's shared one,
scale ``head_dim ** -0.5`` (SDPA's default), softmax over all keys (cls first).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor


def _block_index(backbone: nn.Module, layer: int) -> int:
    depth = len(backbone.blocks)
    index = layer + depth if layer < 0 else layer
    if not 0 <= index < depth:
        raise IndexError(f'layer {layer} is out of range for a backbone of {depth} blocks')
    return index


def block_attention_probs(attn: nn.Module, x: Tensor, grid: Tuple[int, int],
                          shared_bias: Optional[Tensor] = None) -> Tensor:
    """Attention probabilities of one :class:`Attention` module.

    Args:
        attn: The block's attention module (``blocks[i].attn``).
        x: Its input, i.e. the block input after ``norm1``, [B, N+1, C] with cls first.
        grid: Patch grid (Hp, Wp) of the N patch tokens.
        shared_bias: The backbone's shared relative position bias [heads, N+1, N+1], or None.

    Returns:
        Softmax probabilities [B, heads, N+1, N+1] (query, key); each row sums to 1.
    """
    q, k, _ = attn.qkv_heads(x)  # each [B, heads, N+1, D], the projection the block uses
    logits = (q @ k.transpose(-2, -1)) * q.shape[-1]**-0.5  # [B, heads, N+1, N+1]
    attn_bias = attn.attn_bias(grid, shared_bias)  # [heads, N+1, N+1] or None
    if attn_bias is not None:
        logits = logits + attn_bias.to(logits.dtype).unsqueeze(0)
    return logits.softmax(dim=-1)


@torch.no_grad()
def attention_probs(backbone: nn.Module, img: Tensor, layer: int = -1,
                    mask: Optional[Tensor] = None) -> Tuple[Tensor, Tuple[int, int]]:
    """Full self-attention probabilities of one block of a BEiT backbone.

    Runs the embedding and the blocks before ``layer`` exactly as the backbone does, then
    recomputes the attention of block ``layer``. Call on a backbone in eval mode (dropout and
    stochastic depth would otherwise change the block inputs).

    Args:
        backbone: A ``beitmm.BEiT``.
        img: Normalised images [B, 3, H, W].
        layer: Block index; negative counts from the end (-1 = last block).
        mask: Optional bool mask [B, Hp, Wp] or [B, N] (True = replaced by the mask token).

    Returns:
        Probabilities [B, heads, N+1, N+1] (cls first) and the patch grid (Hp, Wp).
    """
    index = _block_index(backbone, layer)
    x, grid = backbone.embed(img, mask)  # [B, N+1, C]
    for _, out in backbone.forward_blocks(x, grid, stop=index):
        x = out  # after the loop: the input of block `index` (the embedding when index == 0)
    shared = backbone.rel_pos_bias(grid) if getattr(backbone, 'rel_pos_bias', None) is not None else None
    blk = backbone.blocks[index]
    return block_attention_probs(blk.attn, blk.norm1(x), grid, shared), grid


def cls_attention_maps(backbone: nn.Module, img: Tensor, layer: int = -1, mask: Optional[Tensor] = None) -> Tensor:
    """Attention of the cls query over the patch keys, as a map per head.

    The values are the block's softmax probabilities themselves (not renormalised over the
    patches): each map sums to ``1 - p(cls -> cls)``.

    Args:
        backbone: A ``beitmm.BEiT`` in eval mode.
        img: Normalised images [B, 3, H, W].
        layer: Block index; negative counts from the end (-1 = last block).
        mask: Optional bool mask [B, Hp, Wp] or [B, N] for the masked-input view.

    Returns:
        Maps [B, heads, Hp, Wp].
    """
    probs, grid = attention_probs(backbone, img, layer, mask)  # [B, heads, N+1, N+1]
    return probs[:, :, 0, 1:].reshape(probs.shape[0], probs.shape[1], *grid)  # [B, heads, Hp, Wp]
