"""The server's plaintext side: a converted (THE-X) model's weights, folded for evaluation on ciphertext.

Folds that cost no accuracy (exact algebra in float64): every affine norm into the linear map after it (``norm1`` into
q / k / v, ``norm2`` into ``fc1``, the final norm and the 1 / N of mean pooling into the head), the attention scale
1 / sqrt(D) into q, the layer scales ``gamma_1`` / ``gamma_2`` into ``proj`` / ``fc2``. The relative position bias
depends only on positions, never on the data: it is precomputed for the model's patch grid and added to the
encrypted scores as a plaintext (no multiplicative level).
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from beitmm.models.layers.transformer import Attention, Block
from beitmm.models.the_x.approx import THEXAffineNorm, THEXPolyGELU, THEXSoftmax


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def fold_norm(norm: nn.Module, weight: np.ndarray, bias: np.ndarray, name: str) -> Tuple[np.ndarray, np.ndarray]:
    """Fold an affine norm ``y = x M^T + beta`` into the linear map ``z = y W^T + b`` after it.

    Args:
        norm: A ``THEXAffineNorm`` (anything else raises).
        weight: W [out, in].
        bias: b [out].
        name: Module name for the error.

    Returns:
        (W M) transposed to [in, out] (TenSEAL's ``vector.matmul`` layout) and W beta + b.
    """
    if not isinstance(norm, THEXAffineNorm):
        raise TypeError(f'{name} is {type(norm).__name__}; the encrypted runtime needs a converted model '
                        '(THEXAffineNorm): run beitmm.models.the_x.convert_model first')
    m, beta = _np(norm.matrix()), _np(norm.bias)
    return (weight @ m).T.copy(), weight @ beta + bias


@dataclass
class BlockPlan:
    """One transformer block, weights in ``vector.matmul`` layout ([in, out])."""

    heads: int
    wq: List[np.ndarray]
    bq: List[np.ndarray]
    wk: List[np.ndarray]
    bk: List[np.ndarray]
    wv: np.ndarray
    bv: np.ndarray
    bias: Optional[np.ndarray]  # [heads, N, N] plaintext position bias, or None
    rec: Tuple[np.ndarray, ...]  # reciprocal network: w1 [h], b1 [h], w2 [h, h], b2 [h], w3 [h], b3 [1]
    softmax: THEXSoftmax
    wp: np.ndarray
    bp: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    act: Optional[np.ndarray]  # None: ReLU (client); else degree-2 polynomial coefficients (server)
    w2: np.ndarray
    b2: np.ndarray


def plan_block(blk: nn.Module, name: str, grid: Optional[Tuple[int, int]], expert: Optional[str] = None,
               bias: Optional[torch.Tensor] = None) -> BlockPlan:
    """Fold a converted :class:`~beitmm.models.layers.Block` (norm1, attn, norm2, mlp, layer scales).

    Args:
        blk: The block (or a ``MoMEBlock``, with ``expert``).
        name: Its module name (errors).
        grid: Patch grid for the relative position bias (None: tokens without a grid).
        expert: ``MoMEBlock`` FFN expert (``'text'``: ``norm2_text`` / ``mlp_text``).
        bias: An explicit position bias [heads, N, N] (VLMo's per-layer text bias), instead of ``grid``'s.

    Returns:
        The folded block.
    """
    attn: Attention = blk.attn
    sm = attn._modules.get('softmax')
    if not isinstance(sm, THEXSoftmax):
        raise TypeError(f'{name}.attn has no THEXSoftmax: convert the model first (beitmm.models.the_x)')
    c = attn.qkv.in_features
    h, d = attn.num_heads, c // attn.num_heads
    w = _np(attn.qkv.weight)
    b = np.zeros(3 * c) if attn.q_bias is None else np.concatenate([_np(attn.q_bias), np.zeros(c), _np(attn.v_bias)])
    wqkv, bqkv = fold_norm(blk.norm1, w, b, f'{name}.norm1')  # [C, 3C], [3C]
    scale = d ** -0.5 * float(sm.scale)  # the softmax's learned score scale folds into q as well
    wq = [wqkv[:, i * d:(i + 1) * d] * scale for i in range(h)]
    bq = [bqkv[i * d:(i + 1) * d] * scale for i in range(h)]
    wk = [wqkv[:, c + i * d:c + (i + 1) * d] for i in range(h)]
    bk = [bqkv[c + i * d:c + (i + 1) * d] for i in range(h)]
    if bias is None and grid is not None:
        bias = attn.rel_pos_bias(grid)
    bias = None if bias is None else bias * float(sm.scale)
    g1 = np.ones(c) if blk.gamma_1 is None else _np(blk.gamma_1)
    g2 = np.ones(c) if blk.gamma_2 is None else _np(blk.gamma_2)
    r = sm.reciprocal
    rec = (_np(r[0].weight)[:, 0], _np(r[0].bias), _np(r[2].weight).T.copy(), _np(r[2].bias), _np(r[4].weight)[0],
           _np(r[4].bias))
    norm2 = blk.norm2 if expert is None else getattr(blk, f'norm2_{expert}')
    mlp = blk.mlp if expert is None else getattr(blk, f'mlp_{expert}')
    w1, b1 = fold_norm(norm2, _np(mlp.fc1.weight), _np(mlp.fc1.bias), f'{name}.norm2')
    if isinstance(mlp.act, nn.ReLU):
        act = None
    elif isinstance(mlp.act, THEXPolyGELU) and len(mlp.act.coeffs) == 3:
        act = _np(mlp.act.coeffs)
    else:
        raise TypeError(f'{name}.mlp.act is {mlp.act!r}: the encrypted runtime evaluates ReLU (client) or a '
                        'degree-2 THEXPolyGELU (server)')
    return BlockPlan(h, wq, bq, wk, bk, wqkv[:, 2 * c:], bqkv[2 * c:], None if bias is None else _np(bias), rec, sm,
                     (_np(attn.proj.weight) * g1[:, None]).T.copy(), _np(attn.proj.bias) * g1, w1, b1, act,
                     (_np(mlp.fc2.weight) * g2[:, None]).T.copy(), _np(mlp.fc2.bias) * g2)


@dataclass
class ModelPlan:
    """A whole classifier: patch embedding, blocks, pooling and head."""

    patch_size: int
    grid: Tuple[int, int]
    w_embed: np.ndarray  # [3 p p, C]
    b_embed: np.ndarray  # [Np, C]: conv bias + absolute position of each patch
    cls: np.ndarray  # [C]: cls token + its absolute position
    blocks: List[BlockPlan]
    pool: str  # 'mean' (patch tokens) or 'cls'
    w_head: np.ndarray  # [C, K] (final norm and 1 / Np folded)
    b_head: np.ndarray

    @property
    def tokens(self) -> int:
        """Tokens per sample (cls + patches)."""
        return self.grid[0] * self.grid[1] + 1

    @property
    def slots(self) -> int:
        """Longest vector the circuit encrypts."""
        c = self.cls.shape[0]
        hidden = [b.w1.shape[1] for b in self.blocks] + [b.rec[0].shape[0] for b in self.blocks]
        return max(self.w_embed.shape[0] * self.b_embed.shape[0], c, self.tokens, *hidden)


def plan_image_classifier(model: nn.Module) -> ModelPlan:
    """Fold a converted mmpretrain ``ImageClassifier`` with a beitmm ``BEiT`` backbone and a linear head.

    Args:
        model: The converted classifier (eval mode).

    Returns:
        Its plan.
    """
    bb, head = model.backbone, model.head
    if getattr(model, 'neck', None) is not None or not isinstance(getattr(head, 'fc', None), nn.Linear):
        raise TypeError('the encrypted runtime supports ImageClassifier(backbone=BEiT, neck=None, LinearClsHead)')
    if bb.out_type not in ('avg_featmap', 'cls_token') or bb.rel_pos_bias is not None:
        raise TypeError(f'BEiT out_type {bb.out_type!r} / shared relative position bias: not supported encrypted')
    if any(not isinstance(b, Block) for b in bb.blocks):
        raise TypeError('the encrypted runtime evaluates beitmm Blocks')
    conv = bb.patch_embed.proj
    c = conv.out_channels
    w_embed = _np(conv.weight).reshape(c, -1).T.copy()  # [3 p p, C]; patches flattened as (channel, row, col)
    np_ = bb.grid[0] * bb.grid[1]
    pos = np.zeros((np_ + 1, c)) if bb.pos_embed is None else _np(bb.pos_embed[0])
    blocks = [plan_block(b, f'backbone.blocks.{i}', bb.grid if b.attn.window else None)
              for i, b in enumerate(bb.blocks)]
    pool = 'mean' if bb.out_type == 'avg_featmap' else 'cls'
    w_head, b_head = fold_norm(bb.norm, _np(head.fc.weight), _np(head.fc.bias), 'backbone.norm')
    if pool == 'mean':
        w_head = w_head / np_
    return ModelPlan(bb.patch_size, bb.grid, w_embed, _np(conv.bias)[None] + pos[1:], _np(bb.cls_token[0, 0]) + pos[0],
                     blocks, pool, w_head, b_head)


def image_patches(image: torch.Tensor, patch_size: int) -> np.ndarray:
    """What the client encrypts: the normalised image's patches [Np, 3 p p] (row-major patch order)."""
    x = image.detach().double()  # [3, H, W]
    ch, hh, ww = x.shape
    p = patch_size
    x = x.reshape(ch, hh // p, p, ww // p, p).permute(1, 3, 0, 2, 4)  # [Hp, Wp, 3, p, p]
    return x.reshape(-1, ch * p * p).numpy()
