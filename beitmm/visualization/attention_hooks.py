"""Self-attention maps of every BEiT family, recorded with forward hooks on the attention modules.

The backbones attend through ``F.scaled_dot_product_attention``, which never materialises the attention matrix.
:func:`record_attention` hooks the attention module of the chosen layers (``beitmm.models.layers.Attention``: BEiT,
BEiT v2, VLMo and BEiT-3's paper layout; ``MultiwayAttention``: the released BEiT-3) and, at each call, recomputes
``softmax(q k^T * head_dim ** -0.5 + bias + mask)`` from the inputs that call received and the module's own
projections (``Attention.qkv_heads`` / ``attn_bias``, ``MultiwayAttention._qkv``): no second attention
implementation, the forward itself is unchanged. An approximated softmax (THE-X's ``softmax`` child) is applied as
the module applies it.

:func:`image_attention` runs a backbone on images only (BEiT-3: the vision expert; VLMo: the image-only path) and
returns the recorded probabilities; :func:`query_attention_maps` turns them into per-head maps over the patch grid
for the cls query or for the patch under a pixel.
"""
import inspect
import math
import os.path as osp
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

from beitmm.models.layers import Attention, MultiwayAttention, to_additive

Query = Union[str, Tuple[int, int]]  # 'cls' or (x, y) pixel coordinates in the model input


def attention_layers(backbone: nn.Module) -> List[nn.Module]:
    """The self-attention module of each layer, in depth order.

    Args:
        backbone: ``beitmm.BEiT`` (``blocks[i].attn``), ``beitmm.BEiT3`` (``encoder.layers[i].self_attn``, or
            ``.attn`` in the paper layout) or ``beitmm.VLMo`` (``transformer.blocks[i].attn``).

    Returns:
        One module per layer.
    """
    mods = [m for m in backbone.modules() if isinstance(m, (Attention, MultiwayAttention))]
    depth = getattr(backbone, 'num_layers', len(mods))
    if not mods or len(mods) != depth:
        raise TypeError(f'{type(backbone).__name__}: found {len(mods)} attention modules for {depth} layers; '
                        'attention maps need a BEiT, BEiT v2, BEiT-3 or VLMo backbone')
    return mods


def _layer_indices(layers: Optional[Sequence[int]], depth: int) -> List[int]:
    out = []
    for layer in range(depth) if layers is None else layers:
        index = int(layer) + depth if int(layer) < 0 else int(layer)
        if not 0 <= index < depth:
            raise IndexError(f'layer {layer} is out of range for a backbone of {depth} layers')
        out.append(index)
    return sorted(set(out))


def call_attention_probs(module: nn.Module, args: tuple, kwargs: dict) -> Tensor:
    """Attention probabilities of one call of an attention module, from that call's inputs.

    Args:
        module: An ``Attention`` or ``MultiwayAttention``.
        args: The call's positional arguments (``x`` first).
        kwargs: Its keyword arguments.

    Returns:
        Probabilities [B, heads, N, N] (query, key); each row sums to 1 (masked keys get 0).
    """
    bound = inspect.signature(module.forward).bind(*args, **kwargs)
    bound.apply_defaults()
    a = bound.arguments
    if a.get('kv_cache') is not None:
        raise ValueError('attention maps of incremental decoding (kv_cache) are not supported')
    x, mask = a['x'], a['attn_mask']
    if isinstance(module, MultiwayAttention):
        q, k, _ = module._qkv(x, a['spans']).chunk(3, dim=-1)  # each [B, N, C]
        B, N, C = q.shape
        q, k = (t.reshape(B, N, module.num_heads, C // module.num_heads).transpose(1, 2) for t in (q, k))
        bias = None
    else:
        grid = a['grid']
        q, k, _ = module.qkv_heads(x)  # each [B, heads, N, D]
        cls = grid is None or x.shape[1] != grid[0] * grid[1]  # as Attention.forward decides
        bias = module.attn_bias(grid, a['shared_bias'], cls_token=cls)  # [heads, N, N] / [B, heads, N, N] / None
    scores = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5  # [B, heads, N, N]
    if bias is not None:
        scores = scores + (bias if bias.dim() == 4 else bias.unsqueeze(0)).to(scores.dtype)
    if 'softmax' in module._modules:  # THE-X: the module's own approximation, mask applied by it
        return module.softmax(scores, mask)
    if mask is not None:
        scores = scores + to_additive(mask, scores.dtype)
    return scores.softmax(dim=-1)


@contextmanager
def record_attention(backbone: nn.Module, layers: Optional[Sequence[int]] = None) -> Iterator[Dict[int, List[Tensor]]]:
    """Record the attention probabilities of ``layers`` while the backbone runs inside the ``with`` block.

    Args:
        backbone: A BEiT, BEiT v2, BEiT-3 or VLMo backbone.
        layers: Layer indices (negative counts from the end); None: all.

    Yields:
        ``{layer index: [probabilities [B, heads, N, N] of each call, in call order]}``, filled as the backbone runs.
    """
    mods = attention_layers(backbone)
    records: Dict[int, List[Tensor]] = {i: [] for i in _layer_indices(layers, len(mods))}
    handles = []
    for i in records:
        def hook(module: nn.Module, args: tuple, kwargs: dict, i: int = i) -> None:
            with torch.no_grad():
                records[i].append(call_attention_probs(module, args, kwargs).detach())
        handles.append(mods[i].register_forward_pre_hook(hook, with_kwargs=True))
    try:
        yield records
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def image_attention(backbone: nn.Module, img: Tensor,
                    layers: Sequence[int] = (-1, )) -> Tuple[Dict[int, Tensor], Tuple[int, int], bool]:
    """Self-attention probabilities of an image-only forward.

    Call on a backbone in eval mode (dropout and stochastic depth would change the inputs of later layers).

    Args:
        backbone: ``beitmm.BEiT`` (BEiT / BEiT v2), ``beitmm.BEiT3`` (vision expert) or ``beitmm.VLMo`` (image path).
        img: Normalised images [B, 3, H, W] on the backbone's device.
        layers: Layer indices (negative counts from the end).

    Returns:
        ``({layer index: probabilities [B, heads, N, N]}, patch grid (Hp, Wp), tokens start with a cls token)``.
    """
    p = backbone.patch_size
    grid = (math.ceil(img.shape[-2] / p), math.ceil(img.shape[-1] / p))  # patchify pads bottom / right
    with record_attention(backbone, layers) as records:
        backbone(img)  # image-only: BEiT3 / VLMo take the image as the first argument
    out = {}
    for i, calls in records.items():
        if len(calls) != 1:
            raise ValueError(f'layer {i} ran {len(calls)} times in one forward (window attention, or out_indices '
                             f'{getattr(backbone, "out_indices", None)} stop before it): no single attention map')
        out[i] = calls[0]
    n = grid[0] * grid[1]
    tokens = next(iter(out.values())).shape[-1]
    if tokens not in (n, n + 1):
        raise ValueError(f'{tokens} tokens for a {grid} patch grid: not an image-only sequence')
    return out, grid, tokens == n + 1


def query_attention_maps(probs: Tensor, grid: Tuple[int, int], query: Query, patch_size: int,
                         has_cls: bool = True) -> Tensor:
    """Attention of one query over the patch keys, as a map per head.

    The values are the softmax probabilities themselves (not renormalised over the patches): with a cls token each
    map sums to ``1 - p(query -> cls)``.

    Args:
        probs: Probabilities [B, heads, N, N] from :func:`image_attention`.
        grid: Patch grid (Hp, Wp).
        query: ``'cls'`` (the cls token's attention) or ``(x, y)``: the patch holding that pixel of the model input.
        patch_size: Patch size in pixels.
        has_cls: The tokens start with a cls token.

    Returns:
        Maps [B, heads, Hp, Wp].
    """
    first = int(has_cls)
    if query == 'cls':
        if not has_cls:
            raise ValueError("query 'cls': this backbone runs without a cls token; give a pixel (x, y)")
        row = 0
    else:
        x, y = (int(v) for v in query)
        if not (0 <= x < grid[1] * patch_size and 0 <= y < grid[0] * patch_size):
            raise ValueError(f'query pixel ({x}, {y}) is outside the {grid[1] * patch_size} x '
                             f'{grid[0] * patch_size} model input')
        row = first + (y // patch_size) * grid[1] + x // patch_size
    return probs[:, :, row, first:].reshape(probs.shape[0], probs.shape[1], *grid)  # [B, heads, Hp, Wp]


def sample_photo() -> str:
    """Path of a real photo shipped with an installed package.

    Returns:
        scikit-image's ``data/chelsea.png`` (a cat) when scikit-image is installed, else matplotlib's
        ``sample_data/grace_hopper.jpg`` (a portrait).
    """
    try:
        import skimage
        path = osp.join(osp.dirname(skimage.__file__), 'data', 'chelsea.png')
        if osp.isfile(path):
            return path
    except ImportError:
        pass
    import matplotlib
    path = osp.join(matplotlib.get_data_path(), 'sample_data', 'grace_hopper.jpg')
    if not osp.isfile(path):
        raise FileNotFoundError(f'no sample photo: neither scikit-image nor {path} is installed')
    return path
