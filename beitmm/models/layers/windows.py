"""ViTDet's window attention pieces: window partition / unpartition and a channels-first LayerNorm.

ViTDet (Li et al., 2022; detectron2 ``projects/ViTDet``) runs most blocks of a plain ViT on non-overlapping
windows of the high-resolution patch grid and a few on the whole grid. The grid is padded with zeros at the
bottom / right up to a multiple of the window, after the block's ``norm1``; the padded tokens take part in the
window attention unmasked, as in ViTDet, and are cut off again after it.
"""
from typing import Callable, Tuple

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from beitmm.registry import MODELS


def window_partition(x: Tensor, window: int) -> Tuple[Tensor, Tuple[int, int]]:
    """Split a patch grid into non-overlapping windows, zero-padding bottom / right.

    Args:
        x: Tokens on the grid [B, H, W, C].
        window: Window side (tokens).

    Returns:
        Windows [B * nH * nW, window * window, C] (row-major windows, row-major tokens inside each) and the padded
        grid (Hp, Wp).
    """
    B, H, W, C = x.shape
    pad_h, pad_w = -H % window, -W % window
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    Hp, Wp = H + pad_h, W + pad_w
    x = x.view(B, Hp // window, window, Wp // window, window, C).transpose(2, 3)  # [B, nH, nW, w, w, C]
    return x.reshape(-1, window * window, C), (Hp, Wp)


def window_unpartition(windows: Tensor, window: int, padded: Tuple[int, int], grid: Tuple[int, int]) -> Tensor:
    """Inverse of :func:`window_partition`: windows back to the grid, padding removed.

    Args:
        windows: [B * nH * nW, window * window, C].
        window: Window side.
        padded: Padded grid (Hp, Wp) returned by :func:`window_partition`.
        grid: Grid before padding (H, W).

    Returns:
        Tokens [B, H, W, C].
    """
    (Hp, Wp), (H, W) = padded, grid
    nh, nw = Hp // window, Wp // window
    C = windows.shape[-1]
    x = windows.view(-1, nh, nw, window, window, C).transpose(2, 3).reshape(-1, Hp, Wp, C)
    return x[:, :H, :W] if (Hp, Wp) != (H, W) else x


def attend_in_windows(x: Tensor, grid: Tuple[int, int], window: int, attend: Callable[[Tensor], Tensor]) -> Tensor:
    """Run ``attend`` inside each window of the grid: tokens [B, H*W, C] -> [B, H*W, C].

    Args:
        x: Patch tokens on ``grid`` (row-major), already normed.
        grid: Patch grid (H, W).
        window: Window side.
        attend: Attention over windows, [B * nW, window * window, C] -> same shape.

    Returns:
        The attended tokens, padding removed.
    """
    B, N, C = x.shape
    windows, padded = window_partition(x.view(B, grid[0], grid[1], C), window)
    return window_unpartition(attend(windows), window, padded, grid).reshape(B, N, C)


@MODELS.register_module()
class LN2d(nn.LayerNorm):
    """LayerNorm over the channels of a [B, C, H, W] map (ViTDet's ``LayerNorm`` of its pyramid and heads).

    Registered as ``beitmm.LN2d``, so mmdet heads take it as ``norm_cfg=dict(type='beitmm.LN2d')``.

    Args:
        num_channels: C.
        eps: Epsilon (ViTDet: 1e-6).
    """

    def __init__(self, num_channels: int, eps: float = 1e-6, **kwargs) -> None:
        kwargs.pop('requires_grad', None)  # mmcv's build_norm_layer passes it; it applies it after building
        super().__init__(num_channels, eps=eps, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        """[B, C, H, W] -> [B, C, H, W], each position normalised over C."""
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
