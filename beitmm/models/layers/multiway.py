"""Multiway (mixture-of-modality-experts) layers shared by BEiT-3, VLMo and VL-BEiT.

Tokens of several modalities are concatenated along the sequence; shared modules see all of them, and each
*expert* module sees only the tokens of its modality. Which tokens belong to which expert is an explicit argument
of every forward, a sequence of ``(expert name, length)`` spans in token order, never state stored on modules
(torchscale sets a ``split_position`` attribute on every sub-module before each call).

Two blocks are built from these parts, each keeping its paper's official parameter names so checkpoints load by
copy:

- :class:`MagnetoMultiwayBlock`: the released BEiT-3 (torchscale ``EncoderLayer`` with ``multiway=True`` and
  ``subln=True``): every projection and norm per modality (``.A`` vision, ``.B`` language), sub-LN inside the
  attention and the FFN; only the attention over the concatenated sequence is shared.
- :class:`MoMEBlock`: VLMo's mixture-of-modality-experts block (also VL-BEiT and the paper's BEiT-3): shared
  ``norm1`` + attention + layer scale, per-modality ``norm2_*`` + ``mlp_*`` experts, and a vision-language expert
  (``mlp_vl``) that takes every token of a multimodal input in the top layers.
"""
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .builders import build_activation
from .transformer import Attention, Mlp, drop_path, hooked_softmax_attend
from .windows import attend_in_windows

Span = Tuple[str, int]  # (expert name, number of consecutive tokens)
Spans = Sequence[Span]


def check_spans(spans: Spans, length: int) -> None:
    """Raise when ``spans`` do not tile a sequence of ``length`` tokens.

    Args:
        spans: ``(expert, length)`` pairs in token order.
        length: Sequence length N of the tokens.
    """
    total = sum(n for _, n in spans)
    if not spans or total != length or any(n <= 0 for _, n in spans):
        raise ValueError(f'modality spans {list(spans)} do not tile the {length} tokens of the input')


def multiway_apply(x: Tensor, spans: Spans, experts: Mapping[str, Callable[[Tensor], Tensor]]) -> Tensor:
    """Apply each expert to its span of tokens and concatenate the results in the original order.

    Args:
        x: Tokens [B, N, C].
        spans: ``(expert name, length)`` pairs tiling the N tokens.
        experts: Expert name -> callable on [B, n, C].

    Returns:
        [B, N, C'] with C' the experts' output width.
    """
    if len(spans) == 1:
        return experts[spans[0][0]](x)
    parts = torch.split(x, [n for _, n in spans], dim=1)
    return torch.cat([experts[name](part) for (name, _), part in zip(spans, parts, strict=True)], dim=1)


class Multiway(nn.Module):
    """Per-expert copies of a module, named like torchscale's ``MultiwayNetwork`` (``A``, ``B``, ...).

    Args:
        experts: Expert name (the child's attribute name, e.g. ``'A'`` for vision, ``'B'`` for language) -> module.
    """

    def __init__(self, experts: Dict[str, nn.Module]) -> None:
        super().__init__()
        for name, module in experts.items():
            self.add_module(name, module)

    def forward(self, x: Tensor, spans: Spans) -> Tensor:
        """Route the tokens of each span through its expert (see :func:`multiway_apply`)."""
        return multiway_apply(x, spans, dict(self.named_children()))


class SubLNFeedForward(nn.Module):
    """torchscale's ``FeedForwardNetwork`` with sub-LN: ``fc1`` -> GELU (in fp32) -> ``ffn_layernorm`` -> ``fc2``.

    Args:
        dim: Model width.
        hidden: Hidden width.
        eps: LayerNorm epsilon.
        drop: Dropout after the activation and after ``fc2``.
        act_cfg: Activation config (default exact GELU; approximations plug in here).
        subln: Keep the inner LayerNorm (Magneto).
    """

    def __init__(self, dim: int, hidden: int, eps: float = 1e-5, drop: float = 0., act_cfg: Optional[dict] = None,
                 subln: bool = True) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = build_activation(act_cfg or dict(type='GELU'))
        self.ffn_layernorm = nn.LayerNorm(hidden, eps=eps) if subln else None
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        """[..., dim] -> [..., dim]."""
        x = self.fc1(x)
        x = self.drop(self.act(x.float()).type_as(x))  # torchscale computes the activation in fp32
        if self.ffn_layernorm is not None:
            x = self.ffn_layernorm(x)
        return self.drop(self.fc2(x))


def attend(q: Tensor, k: Tensor, v: Tensor, num_heads: int, attn_mask: Optional[Tensor], dropout: float,
           softmax: Optional[nn.Module] = None) -> Tensor:
    """Multi-head scaled dot-product attention of projected tokens.

    Args:
        q: Queries [B, Nq, C].
        k: Keys [B, Nk, C].
        v: Values [B, Nk, C].
        num_heads: Heads.
        attn_mask: Bool (True = may attend) or additive mask broadcastable to [B, heads, Nq, Nk], or None.
        dropout: Attention dropout probability (0 at eval).
        softmax: A softmax hook (THE-X's ``THEXSoftmax``, set by ``beitmm.models.the_x.convert_model``): the scores
            go through :func:`~beitmm.models.layers.transformer.hooked_softmax_attend`, the mask applied by the hook.

    Returns:
        [B, Nq, C].
    """
    B, Nq, C = q.shape
    heads = [t.reshape(B, t.shape[1], num_heads, C // num_heads).transpose(1, 2) for t in (q, k, v)]
    if softmax is not None:
        out = hooked_softmax_attend(softmax, *heads, None, attn_mask, dropout, dropout > 0)  # [B, h, Nq, D]
        return out.transpose(1, 2).reshape(B, Nq, C)
    if attn_mask is not None and attn_mask.dtype != torch.bool:
        attn_mask = attn_mask.to(q.dtype)
    out = F.scaled_dot_product_attention(*heads, attn_mask=attn_mask, dropout_p=dropout)  # [B, h, Nq, D]
    return out.transpose(1, 2).reshape(B, Nq, C)


class MultiwayAttention(nn.Module):
    """torchscale's ``MultiheadAttention`` with ``multiway=True``: per-expert q/k/v/out projections and sub-LN.

    Args:
        dim: Model width.
        num_heads: Heads.
        experts: Expert names (``('A', 'B')``).
        eps: LayerNorm epsilon of the sub-LN.
        subln: Sub-LN (``inner_attn_ln``) before the output projection.
        attn_drop: Attention dropout.
    """

    def __init__(self, dim: int, num_heads: int, experts: Sequence[str] = ('A', 'B'), eps: float = 1e-5,
                 subln: bool = True, attn_drop: float = 0.) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'embed dim {dim} is not divisible by num_heads {num_heads}')
        self.num_heads, self.attn_drop = num_heads, attn_drop
        for name in ('k_proj', 'v_proj', 'q_proj', 'out_proj'):
            setattr(self, name, Multiway({e: nn.Linear(dim, dim) for e in experts}))
        self.inner_attn_ln = Multiway({e: nn.LayerNorm(dim, eps=eps) for e in experts}) if subln else None

    def _qkv(self, x: Tensor, spans: Spans) -> Tensor:
        """q, k and v of every token in one GEMM per expert (weights concatenated on the fly): [B, N, 3C]."""
        def fused(expert: str) -> Callable[[Tensor], Tensor]:
            projs = [getattr(self, name)._modules[expert] for name in ('q_proj', 'k_proj', 'v_proj')]
            weight = torch.cat([p.weight for p in projs])  # [3C, C]
            bias = torch.cat([p.bias for p in projs])
            return lambda t: F.linear(t, weight, bias)
        return multiway_apply(x, spans, {name: fused(name) for name in dict(spans)})

    def forward(self, x: Tensor, spans: Spans, attn_mask: Optional[Tensor] = None, kv_cache=None) -> Tensor:
        """Attend over all tokens; project each span with its expert.

        Args:
            x: Tokens [B, N, C].
            spans: Expert spans tiling the N tokens.
            attn_mask: Bool (True = may attend) or additive mask broadcastable to [B, heads, N, N] (with
                ``kv_cache``: [B, heads, N, T + N], the cached keys first).
            kv_cache: Incremental decoding: an object whose ``update(k, v)`` appends the new keys / values
                [B, N, C] to the cached T ones and returns all of them (``beitmm.models.generation.LayerKV``).

        Returns:
            [B, N, C].
        """
        q, k, v = self._qkv(x, spans).chunk(3, dim=-1)  # each [B, N, C]
        if kv_cache is not None:
            k, v = kv_cache.update(k, v)  # [B, T + N, C]
        out = attend(q, k, v, self.num_heads, attn_mask, self.attn_drop if self.training else 0.,
                     self._modules.get('softmax'))  # softmax hook: set by THE-X's converter only
        if self.inner_attn_ln is not None:
            out = self.inner_attn_ln(out, spans)
        return self.out_proj(out, spans)


class MagnetoMultiwayBlock(nn.Module):
    """The released BEiT-3 layer (torchscale ``EncoderLayer``, pre-LN, sub-LN, multiway), torchscale's key names.

    Args:
        dim: Model width.
        num_heads: Heads.
        mlp_hidden: FFN hidden width.
        experts: Expert names (``('A', 'B')``: vision, language).
        eps: LayerNorm epsilon (torchscale: 1e-5).
        drop: Dropout after attention and in the FFN.
        attn_drop: Attention dropout.
        drop_path_rate: Stochastic depth of this block.
        act_cfg: FFN activation config.
        subln: Sub-LN in attention and FFN (released BEiT-3: True).
        attn_window: ViTDet's window attention over a patch grid of one expert's tokens (no cls token; see
            :mod:`.windows`); 0 attends over all tokens.
    """

    def __init__(self, dim: int, num_heads: int, mlp_hidden: int, experts: Sequence[str] = ('A', 'B'),
                 eps: float = 1e-5, drop: float = 0., attn_drop: float = 0., drop_path_rate: float = 0.,
                 act_cfg: Optional[dict] = None, subln: bool = True, attn_window: int = 0) -> None:
        super().__init__()
        self.attn_window = int(attn_window)
        self.self_attn = MultiwayAttention(dim, num_heads, experts, eps, subln, attn_drop)
        self.self_attn_layer_norm = Multiway({e: nn.LayerNorm(dim, eps=eps) for e in experts})
        self.ffn = Multiway({e: SubLNFeedForward(dim, mlp_hidden, eps, drop, act_cfg, subln) for e in experts})
        self.final_layer_norm = Multiway({e: nn.LayerNorm(dim, eps=eps) for e in experts})
        self.drop = nn.Dropout(drop)
        self.drop_path_rate = drop_path_rate

    def residual_out_weights(self) -> List[Tensor]:
        """The weights closing the residual branches: every expert's ``self_attn.out_proj`` and ``ffn.fc2``."""
        return [m.weight for m in self.self_attn.out_proj.children()] + [f.fc2.weight for f in self.ffn.children()]

    def forward(self, x: Tensor, spans: Spans, attn_mask: Optional[Tensor] = None, kv_cache=None,
                grid: Optional[Tuple[int, int]] = None) -> Tensor:
        """Tokens [B, N, C] -> [B, N, C]; ``spans`` route each token to its expert; ``kv_cache``: see attention.

        ``grid``: the patch grid of the tokens, for window attention (``attn_window``).
        """
        h = self.self_attn_layer_norm(x, spans)
        if self.attn_window:
            y = self.drop(self._window_attend(h, spans, grid))
        else:
            y = self.drop(self.self_attn(h, spans, attn_mask, kv_cache))
        x = x + drop_path(y, self.drop_path_rate, self.training)
        y = self.ffn(self.final_layer_norm(x, spans), spans)
        return x + drop_path(y, self.drop_path_rate, self.training)

    def _window_attend(self, h: Tensor, spans: Spans, grid: Optional[Tuple[int, int]]) -> Tensor:
        """Attention inside ``attn_window`` windows of one expert's patch grid: [B, H*W, C] -> [B, H*W, C]."""
        if grid is None or len(spans) != 1 or h.shape[1] != grid[0] * grid[1]:
            raise ValueError(f'window attention needs the patch tokens of one modality on a grid, got spans {spans} '
                             f'for grid {grid} (build the backbone with with_cls_token=False, one modality)')
        w = self.attn_window
        return attend_in_windows(h, grid, w, lambda windows: self.self_attn(windows, ((spans[0][0], w * w), )))


class MoMEBlock(nn.Module):
    """VLMo's mixture-of-modality-experts block: shared attention, per-modality FFN experts, optional VL expert.

    Parameter names are VLMo's (``norm1``, ``attn.{qkv, q_bias, v_bias, proj}``, ``gamma_1``, ``gamma_2``,
    ``norm2_{imag, text, vl}``, ``mlp_{imag, text, vl}``). The spans name experts by these suffixes:
    ``'imag'`` and ``'text'``. With ``with_vl=True`` a multimodal input (more than one span) goes through the
    VL expert as a whole, as VLMo's top layers do.

    Args:
        dim: Model width.
        num_heads: Heads.
        mlp_hidden: FFN hidden width.
        experts: Modality expert suffixes (``('text', 'imag')``).
        with_vl: Add the vision-language expert (``norm2_vl`` / ``mlp_vl``).
        qv_bias: q / v biases in the shared attention.
        layer_scale_init_value: Layer scale init (VLMo: 0.1); 0 or None disables it.
        eps: LayerNorm epsilon (VLMo: 1e-6).
        drop: Dropout after attention and in the FFNs.
        attn_drop: Attention dropout.
        drop_path_rate: Stochastic depth of this block.
        act_cfg: FFN activation config.
    """

    def __init__(self, dim: int, num_heads: int, mlp_hidden: int, experts: Sequence[str] = ('text', 'imag'),
                 with_vl: bool = False, qv_bias: bool = True, layer_scale_init_value: Optional[float] = 0.1,
                 eps: float = 1e-6, drop: float = 0., attn_drop: float = 0., drop_path_rate: float = 0.,
                 act_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, qv_bias, None, attn_drop, drop)
        self.expert_names = tuple(experts) + (('vl', ) if with_vl else ())
        for name in self.expert_names:
            self.add_module(f'norm2_{name}', nn.LayerNorm(dim, eps=eps))
            self.add_module(f'mlp_{name}', Mlp(dim, mlp_hidden, drop, act_cfg))
        self.with_vl = with_vl
        if layer_scale_init_value:
            self.gamma_1 = nn.Parameter(torch.full((dim, ), float(layer_scale_init_value)))
            self.gamma_2 = nn.Parameter(torch.full((dim, ), float(layer_scale_init_value)))
        else:
            self.gamma_1 = self.gamma_2 = None
        self.drop_path_rate = drop_path_rate

    def residual_out_weights(self) -> List[Tensor]:
        """The weights closing the residual branches: the shared ``attn.proj`` and every expert's ``fc2``."""
        return [self.attn.proj.weight] + [getattr(self, f'mlp_{name}').fc2.weight for name in self.expert_names]

    def _expert(self, name: str) -> Callable[[Tensor], Tensor]:
        norm, mlp = getattr(self, f'norm2_{name}'), getattr(self, f'mlp_{name}')
        return lambda t: mlp(norm(t))

    def forward(self, x: Tensor, spans: Spans, attn_mask: Optional[Tensor] = None,
                rel_pos_bias: Optional[Tensor] = None, kv_cache=None) -> Tensor:
        """Tokens [B, N, C] -> [B, N, C].

        Args:
            x: Tokens.
            spans: ``(expert suffix, length)`` pairs tiling the N tokens.
            attn_mask: Bool (True = may attend) or additive mask broadcastable to [B, heads, N, N].
            rel_pos_bias: This layer's relative position bias [heads, N, N] (VLMo's merged table), or None.
            kv_cache: Incremental decoding: this layer's ``LayerKV`` (see ``Attention.forward``).

        Returns:
            The block output.
        """
        y = self.attn(self.norm1(x), None, rel_pos_bias, attn_mask, kv_cache)
        x = x + drop_path(y if self.gamma_1 is None else self.gamma_1 * y, self.drop_path_rate, self.training)
        if self.with_vl and len({name for name, _ in spans}) > 1:
            y = self._expert('vl')(x)
        else:
            y = multiway_apply(x, spans, {name: self._expert(name) for name, _ in spans})
        return x + drop_path(y if self.gamma_2 is None else self.gamma_2 * y, self.drop_path_rate, self.training)
