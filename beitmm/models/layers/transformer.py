"""Shared transformer layers: relative position bias, attention, MLP, pre-norm block, initialisation.

Parameter names follow microsoft/unilm (and timm), so official checkpoints load by copy. Attention
runs through ``F.scaled_dot_product_attention`` with the relative position bias and any
attention / padding mask folded into one additive mask (fused kernels on CPU and CUDA). The
activation and the norm are configs (``act_cfg`` / ``norm_cfg``), so approximated operations
(THE-X) and other families plug in without a new block class.
"""
import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from beitmm.pos_embed import rel_pos_table_len, relative_position_index, resize_rel_pos_bias_table
from beitmm.registry import MODELS

from .attention_masks import merge_attn_bias
from .builders import build_activation, build_norm
from .windows import attend_in_windows

INIT_MODES = ('finetune', 'pretrain')


class RelPosTableMixin:
    """A learned relative position bias table (``relative_position_bias_table``) and its lookup.

    The table is learned for ``window`` (the training patch grid). Inputs on another grid use the
    geometric-sequence resize of the BEiT paper, so whole-image inference at any size works. Used by
    :class:`RelativePositionBias` (one table shared by all blocks) and by :class:`Attention` (one per
    block, keeping the official key ``blocks.{i}.attn.relative_position_bias_table``).
    """

    def _init_rel_pos_table(self, window: Optional[Tuple[int, int]], num_heads: int) -> None:
        self.window = None if window is None else tuple(window)
        if self.window is None:
            self.relative_position_bias_table = None
            return
        self.relative_position_bias_table = nn.Parameter(torch.zeros(rel_pos_table_len(self.window), num_heads))
        self.register_buffer('relative_position_index', relative_position_index(self.window), persistent=False)
        self._index_cache: Dict[Tuple[int, int, torch.device], Tensor] = {}

    def _index(self, grid: Tuple[int, int], device: torch.device) -> Tensor:
        if grid == self.window:
            return self.relative_position_index
        key = (grid[0], grid[1], device)
        if key not in self._index_cache:
            self._index_cache[key] = relative_position_index(grid).to(device)
        return self._index_cache[key]

    def rel_pos_bias(self, grid: Tuple[int, int], cls_token: bool = True) -> Optional[Tensor]:
        """Bias for a patch grid.

        Args:
            grid: Current patch grid (Hp, Wp).
            cls_token: The tokens start with a cls token; False: patch tokens only (ViTDet's blocks).

        Returns:
            Bias [num_heads, N + 1, N + 1] with N = Hp * Wp ([num_heads, N, N] without the cls token), or None
            without a table.
        """
        table = self.relative_position_bias_table
        if table is None:
            return None
        if grid != self.window:
            table = resize_rel_pos_bias_table(table, self.window, grid)
        index = self._index(grid, table.device)
        if not cls_token:
            index = index[1:, 1:]
        n = index.shape[0]
        bias = table[index.reshape(-1)].view(n, n, -1)  # [N+1, N+1, heads] ([N, N, heads] without cls)
        return bias.permute(2, 0, 1).contiguous()


class RelativePositionBias(RelPosTableMixin, nn.Module):
    """One relative position bias table shared by all blocks (BEiT's pretraining layout).

    Args:
        window: Patch grid (Wh, Ww) the table is learned for.
        num_heads: Number of attention heads.
    """

    def __init__(self, window: Tuple[int, int], num_heads: int) -> None:
        super().__init__()
        self._init_rel_pos_table(window, num_heads)

    def forward(self, grid: Tuple[int, int]) -> Optional[Tensor]:
        """Bias [num_heads, N + 1, N + 1] for a patch grid (see :meth:`rel_pos_bias`)."""
        return self.rel_pos_bias(grid)


class Attention(RelPosTableMixin, nn.Module):
    """Multi-head self-attention with q/v bias (no k bias) and optional relative position bias.

    Args:
        dim: Embedding dimension C.
        num_heads: Number of heads.
        qv_bias: Learn biases for q and v (the key bias is fixed at zero, as in BEiT).
        window: Patch grid for a per-layer relative position bias; None for none.
        attn_drop: Dropout on attention weights.
        proj_drop: Dropout after the output projection.
        softmax_cfg: None: exact softmax through ``F.scaled_dot_product_attention``; else a ``MODELS`` type whose
            ``forward(scores, attn_mask)`` replaces softmax (e.g. ``beitmm.THEXSoftmax``; its module is ``softmax``).
    """

    def __init__(self, dim: int, num_heads: int, qv_bias: bool = True, window: Optional[Tuple[int, int]] = None,
                 attn_drop: float = 0., proj_drop: float = 0., softmax_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'embed dim {dim} is not divisible by num_heads {num_heads}')
        self._init_rel_pos_table(window, num_heads)
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        if qv_bias:
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.v_bias = nn.Parameter(torch.zeros(dim))
            self.register_buffer('k_bias', torch.zeros(dim), persistent=False)
        else:
            self.q_bias = self.v_bias = self.k_bias = None
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        if softmax_cfg:  # only then a ``softmax`` child (default: no new state dict keys)
            self.softmax = MODELS.build(softmax_cfg)

    def qkv_heads(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Project tokens [B, N, C] to q, k, v, each [B, heads, N, D] (k bias fixed at zero)."""
        B, N, C = x.shape
        bias = None if self.q_bias is None else torch.cat((self.q_bias, self.k_bias, self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).reshape(B, N, 3, self.num_heads, C // self.num_heads)
        return qkv.permute(2, 0, 3, 1, 4).unbind(0)

    def attn_bias(self, grid: Optional[Tuple[int, int]], shared_bias: Optional[Tensor] = None,
                  attn_mask: Optional[Tensor] = None, cls_token: bool = True) -> Optional[Tensor]:
        """This layer's relative position bias + the shared one + the mask, as one additive mask.

        Args:
            grid: Patch grid of the tokens (None for tokens without a grid: no table lookup).
            shared_bias: Bias [heads, N, N] shared by all layers.
            attn_mask: Bool (True = may attend) or additive mask broadcastable to [B, heads, N, N].
            cls_token: The tokens start with a cls token (False: patch tokens only).

        Returns:
            Additive mask broadcastable to [B, heads, N, N], or None when there is nothing to add.
        """
        bias = self.rel_pos_bias(grid, cls_token) if grid is not None else None
        if shared_bias is not None:
            bias = shared_bias if bias is None else bias + shared_bias
        return merge_attn_bias(bias, attn_mask)

    def forward(self, x: Tensor, grid: Optional[Tuple[int, int]] = None, shared_bias: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None, kv_cache=None) -> Tensor:
        """Attend.

        Args:
            x: Tokens [B, N, C] (cls first for image tokens).
            grid: Patch grid (Hp, Wp) of the image tokens for the relative position bias; None when
                the layer has no table or the tokens have no grid.
            shared_bias: Bias [heads, N, N] (or [B, heads, N, N_keys]) shared by all layers, added to this layer's.
            attn_mask: Bool (True = may attend) or additive float mask broadcastable to
                [B, heads, N, N] (padding, causal or seq2seq masks of ``attention_masks``).
            kv_cache: Incremental decoding: a ``beitmm.models.generation.LayerKV`` (``update(k, v)`` appends the new
                tokens' keys / values [B, N, C] and returns all of them); masks and biases then cover the keys.

        Returns:
            Tokens [B, N, C].
        """
        B, N, C = x.shape
        # patch tokens only (ViTDet's windows and blocks) when the count is the grid's
        cls = grid is None or N != grid[0] * grid[1]
        q, k, v = self.qkv_heads(x)  # each [B, heads, N, D]
        if kv_cache is not None:
            heads = q.shape[1]
            k, v = kv_cache.update(*(t.transpose(1, 2).reshape(B, N, C) for t in (k, v)))  # [B, T + N, C]
            k, v = (t.reshape(B, t.shape[1], heads, C // heads).transpose(1, 2) for t in (k, v))
        if 'softmax' in self._modules:  # approximated softmax: explicit scores, multiplicative mask
            x = self.approx_attend(q, k, v, self.attn_bias(grid, shared_bias, cls_token=cls), attn_mask)
            return self.proj_drop(self.proj(x.transpose(1, 2).reshape(B, N, C)))
        mask = self.attn_bias(grid, shared_bias, attn_mask, cls)
        if mask is not None:
            if mask.dtype != torch.bool:  # bool masks go to SDPA as they are (True = may attend)
                mask = mask.to(q.dtype)
            mask = mask.unsqueeze(0) if mask.dim() == 3 else mask  # [B or 1, heads or 1, N, N]
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.attn_drop if self.training else 0.)
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(x))


    def approx_attend(self, q: Tensor, k: Tensor, v: Tensor, bias: Optional[Tensor],
                      attn_mask: Optional[Tensor]) -> Tensor:
        """Attention through ``self.softmax`` (``softmax_cfg``): q, k, v [B, heads, N, D] -> [B, heads, N, D]."""
        return hooked_softmax_attend(self.softmax, q, k, v, bias, attn_mask, self.attn_drop, self.training)


def hooked_softmax_attend(softmax: nn.Module, q: Tensor, k: Tensor, v: Tensor, bias: Optional[Tensor],
                          attn_mask: Optional[Tensor], attn_drop: float = 0., training: bool = False) -> Tensor:
    """Attention through a softmax hook (``softmax(scores, attn_mask)``, e.g. ``beitmm.THEXSoftmax``).

    The one explicit-scores path shared by every attention with a ``softmax`` child (beitmm ``Attention``, BERT's
    self-attention, BEiT-3's ``MultiwayAttention``): the approximated models of all families run the same code.

    Args:
        softmax: The softmax replacement.
        q: Queries [B, heads, N, D].
        k: Keys [B, heads, Nk, D].
        v: Values [B, heads, Nk, D].
        bias: Additive position bias broadcastable to [B, heads, N, Nk] (3-d: [heads, N, Nk]), or None.
        attn_mask: Bool (True = may attend) or additive mask; the hook applies it (THE-X: multiplicatively).
        attn_drop: Dropout on the attention weights.
        training: Dropout active.

    Returns:
        [B, heads, N, D].
    """
    scores = q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5  # [B, heads, N, Nk]
    if bias is not None:
        scores = scores + (bias if bias.dim() == 4 else bias.unsqueeze(0)).to(scores.dtype)
    attn = softmax(scores, attn_mask)
    attn = F.dropout(attn, attn_drop, training)
    return attn @ v


def drop_path(x: Tensor, p: float, training: bool) -> Tensor:
    """Stochastic depth per sample."""
    if p == 0. or not training:
        return x
    keep = 1 - p
    mask = x.new_empty((x.shape[0], ) + (1, ) * (x.ndim - 1)).bernoulli_(keep)
    return x * mask / keep


class Mlp(nn.Module):
    """Two-layer MLP ``fc1`` -> activation -> ``fc2`` (GELU by default).

    Args:
        dim: Input and output width.
        hidden: Hidden width.
        drop: Dropout after the activation and after ``fc2``.
        act_cfg: Activation config (``dict(type='GELU')``; any type of :func:`build_activation`).
    """

    def __init__(self, dim: int, hidden: int, drop: float = 0., act_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = build_activation(act_cfg or dict(type='GELU'))
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        """[..., dim] -> [..., dim]."""
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class Block(nn.Module):
    """Pre-norm transformer block with layer scale (``gamma_1``, ``gamma_2``) and drop path.

    Args:
        dim: Embedding dimension.
        num_heads: Attention heads.
        mlp_hidden: MLP hidden width.
        qv_bias: q/v biases in attention.
        window: Patch grid for a per-layer relative position bias, or None.
        layer_scale_init_value: Initial layer-scale value; 0 or None disables layer scale.
        drop: Dropout after attention projection and in the MLP.
        attn_drop: Attention dropout.
        drop_path_rate: Stochastic depth rate of this block.
        norm_eps: LayerNorm epsilon (used when ``norm_cfg`` gives none).
        act_cfg: MLP activation config (default GELU).
        norm_cfg: Norm config, used as given (default ``dict(type='LN', eps=norm_eps)``).
        softmax_cfg: Attention softmax replacement (see :class:`Attention`; default exact softmax).
        attn_window: ViTDet's window attention: attend inside non-overlapping ``attn_window`` x ``attn_window``
            windows of the patch grid (tokens without a cls token; see :mod:`.windows`); 0 attends globally.
    """

    def __init__(self, dim: int, num_heads: int, mlp_hidden: int, qv_bias: bool = True,
                 window: Optional[Tuple[int, int]] = None, layer_scale_init_value: Optional[float] = 0.1,
                 drop: float = 0., attn_drop: float = 0., drop_path_rate: float = 0., norm_eps: float = 1e-6,
                 act_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 softmax_cfg: Optional[dict] = None, attn_window: int = 0) -> None:
        super().__init__()
        self.attn_window = int(attn_window)
        norm_cfg = dict(norm_cfg) if norm_cfg else dict(type='LN', eps=norm_eps)
        self.norm1 = build_norm(norm_cfg, dim)
        self.attn = Attention(dim, num_heads, qv_bias, window, attn_drop, drop, softmax_cfg)
        self.norm2 = build_norm(norm_cfg, dim)
        self.mlp = Mlp(dim, mlp_hidden, drop, act_cfg)
        self.drop_path_rate = drop_path_rate
        if layer_scale_init_value:
            self.gamma_1 = nn.Parameter(torch.full((dim, ), float(layer_scale_init_value)))
            self.gamma_2 = nn.Parameter(torch.full((dim, ), float(layer_scale_init_value)))
        else:
            self.gamma_1 = self.gamma_2 = None

    def forward(self, x: Tensor, grid: Optional[Tuple[int, int]] = None, shared_bias: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None) -> Tensor:
        """Tokens [B, N, C] -> [B, N, C] (arguments as :meth:`Attention.forward`)."""
        if self.attn_window:
            y = self.window_attend(self.norm1(x), grid)
        else:
            y = self.attn(self.norm1(x), grid, shared_bias, attn_mask)
        x = x + drop_path(y if self.gamma_1 is None else self.gamma_1 * y, self.drop_path_rate, self.training)
        y = self.mlp(self.norm2(x))
        return x + drop_path(y if self.gamma_2 is None else self.gamma_2 * y, self.drop_path_rate, self.training)

    def window_attend(self, x: Tensor, grid: Optional[Tuple[int, int]]) -> Tensor:
        """Attention inside ``attn_window`` windows (ViTDet): normed patch tokens [B, H*W, C] -> [B, H*W, C]."""
        if grid is None or x.shape[1] != grid[0] * grid[1]:
            raise ValueError(f'window attention needs patch tokens only on a grid: got {x.shape[1]} tokens for '
                             f'grid {grid} (build the backbone with with_cls_token=False)')
        w = self.attn_window
        return attend_in_windows(x, grid, w, lambda windows: self.attn(windows, (w, w)))


def trunc_normal_init_(tensor: Tensor, std: float = .02, mode: str = 'finetune') -> Tensor:
    """The unilm truncated-normal initialisation.

    Args:
        tensor: Tensor to fill in place.
        std: Standard deviation.
        mode: 'pretrain': truncated at +-1 std (unilm ``modeling_pretrain.py`` redefines
            ``trunc_normal_`` with ``a=-std, b=std``; the values then have std 0.54 * ``std``);
            'finetune': timm's ``trunc_normal_`` with its absolute bounds +-2, i.e. practically
            untruncated for std 0.02 (unilm ``modeling_finetune.py``).

    Returns:
        ``tensor``.
    """
    if mode not in INIT_MODES:
        raise ValueError(f'init mode {mode!r} is not one of {INIT_MODES}')
    bound = std if mode == 'pretrain' else 2.
    return nn.init.trunc_normal_(tensor, std=std, a=-bound, b=bound)


def rescale_blocks(blocks: nn.ModuleList, first_depth: int = 1) -> None:
    """The unilm ``fix_init_weight``: rescale the residual-branch output weights of each block.

    The weights closing block ``k``'s two residual branches are divided by ``sqrt(2 * (first_depth + k))``: its
    ``attn.proj`` and ``mlp.fc2``, or, for a block with several experts, every weight its
    ``residual_out_weights()`` lists (the attention output and FFN output projections of each expert).

    Args:
        blocks: The blocks.
        first_depth: Depth (1-based) of ``blocks[0]`` in the whole network.
    """
    with torch.no_grad():
        for k, blk in enumerate(blocks):
            weights = blk.residual_out_weights() if hasattr(blk, 'residual_out_weights') else \
                [blk.attn.proj.weight, blk.mlp.fc2.weight]
            for weight in weights:
                weight.div_(math.sqrt(2.0 * (first_depth + k)))


def init_blocks(blocks: nn.Module, first_depth: int = 1, mode: str = 'finetune', std: float = .02) -> None:
    """The unilm block initialisation.

    Truncated-normal linears (and convolutions in 'pretrain' mode) with zero biases, unit LayerNorms, then
    :func:`rescale_blocks` when ``blocks`` is a ModuleList.

    Args:
        blocks: The blocks (a ModuleList), or any module whose linears to initialise (no rescale).
        first_depth: Depth (1-based) of ``blocks[0]`` in the whole network.
        mode: 'pretrain' or 'finetune' (see :func:`trunc_normal_init_`); unilm's pretraining models
            also initialise ``nn.Conv2d`` (the patch embedding) this way, its fine-tuning models do not.
        std: Standard deviation of the weights.
    """
    convs = (nn.Conv2d, ) if mode == 'pretrain' else ()
    for m in blocks.modules():
        if isinstance(m, (nn.Linear, *convs)):
            trunc_normal_init_(m.weight, std, mode)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if isinstance(blocks, nn.ModuleList):
        rescale_blocks(blocks, first_depth)
