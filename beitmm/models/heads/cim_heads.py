"""Enhancer heads of CIM.

CIM: Fang et al., "Corrupted Image Modeling for Self-Supervised Visual Pre-Training", ICLR 2023.

- :class:`CIMResPixHead` (ResPix): recover every original pixel from the corrupted image;
  targets are pixels normalised by the mean and std of a sliding window around each pixel.
- :class:`CIMRevDetHead` (RevDet): say for every visual token whether the generator replaced
  it (ELECTRA's replaced-token detection).

Both accept the enhancer's output as ViT tokens [B, N(+1), C] or a CNN feature map
[B, C, h, w] (e.g. the last stage of mmpretrain's ResNet-50).
"""
from typing import Dict, Optional, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from beitmm.registry import MODELS

from ..losses import rtd_loss


def window_stats(img: Tensor, window_size: int) -> Tuple[Tensor, Tensor]:
    """Per-channel mean and population variance of the window centred on every pixel.

    Args:
        img: Images [B, C, H, W].
        window_size: Odd window side; at the borders the window is cut to the pixels inside
            the image (no padding values are averaged).

    Returns:
        (mean, var), each [B, C, H, W] (float32).
    """
    if window_size < 1 or window_size % 2 != 1:
        raise ValueError(f'window_size must be a positive odd number (centred window), got {window_size}')
    x = img.float()
    pool = dict(kernel_size=window_size, stride=1, padding=window_size // 2, count_include_pad=False)
    mean = F.avg_pool2d(x, **pool)  # [B, C, H, W]
    var = (F.avg_pool2d(x * x, **pool) - mean * mean).clamp_min(0)
    return mean, var


def sliding_window_normalize(img: Tensor, window_size: int, eps: float = 1e-4) -> Tensor:
    """Normalise every pixel by the mean and variance of the window centred on it.

    Per channel: ``(x - mean_w(x)) / sqrt(var_w(x) + eps)`` over the ``window_size x
    window_size`` neighbourhood (stride 1), see :func:`window_stats`.

    Args:
        img: Images [B, C, H, W].
        window_size: Odd window side.
        eps: Variance floor.

    Returns:
        Normalised images [B, C, H, W] (float32).
    """
    mean, var = window_stats(img, window_size)
    return (img.float() - mean) / (var + eps).sqrt()


def to_featmap(feat: Tensor, grid: Tuple[int, int]) -> Tensor:
    """Enhancer output as a feature map [B, C, h, w].

    Args:
        feat: ViT tokens [B, N(+extra), C] (the last ``h * w`` tokens are the patches, a leading
            cls token is dropped) or a feature map [B, C, h, w] (returned as is).
        grid: Patch grid (h, w) of the tokens.

    Returns:
        Feature map [B, C, h, w].
    """
    if feat.dim() == 4:
        return feat
    if feat.dim() != 3:
        raise ValueError(f'expected tokens [B, N, C] or a feature map [B, C, h, w], got {tuple(feat.shape)}')
    n = grid[0] * grid[1]
    if feat.shape[1] < n:
        raise ValueError(f'{feat.shape[1]} tokens cannot fill the {grid} patch grid')
    return feat[:, -n:].transpose(1, 2).reshape(feat.shape[0], -1, *grid)  # [B, C, h, w]


@MODELS.register_module()
class CIMResPixHead(BaseModule):
    """ResPix: per-pixel regression of sliding-window-normalised original pixels.

    A 1x1 convolution maps every feature to ``stride * stride * 3`` values, rearranged into
    pixels (pixel shuffle, as SimMIM's linear decoder): a stride-16 ViT token or a stride-32
    ResNet cell predicts its own ``stride x stride`` block of pixels.

    Args:
        in_channels: Enhancer feature dimension C (768 for ViT-B, 2048 for ResNet-50).
        encoder_stride: Pixels per feature-map cell (patch size of a ViT, 32 for ResNet-50).
        window_size: Side of the sliding normalisation window (odd).
        loss: 'mse' or 'l1', averaged over all pixels.
        eps: Variance floor of the normalisation (targets are computed on [0, 1] pixels).
        loss_weight: Factor on the loss.
        init_cfg: mmengine init config.
    """

    cim_target = 'pixels'  # CIM passes the original [0, 1] pixels to loss()

    def __init__(self, in_channels: int, encoder_stride: int = 16, window_size: int = 9, loss: str = 'mse',
                 eps: float = 1e-4, loss_weight: float = 1.0, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if loss not in ('mse', 'l1'):
            raise ValueError(f"ResPix loss must be 'mse' or 'l1', got {loss!r}")
        if window_size < 1 or window_size % 2 != 1:
            raise ValueError(f'window_size must be a positive odd number, got {window_size}')
        self.stride, self.window_size, self.loss_type = encoder_stride, window_size, loss
        self.eps, self.loss_weight = eps, loss_weight
        self.proj = nn.Conv2d(in_channels, encoder_stride**2 * 3, kernel_size=1)
        self.shuffle = nn.PixelShuffle(encoder_stride)

    def forward(self, feat: Tensor, img_hw: Tuple[int, int]) -> Tensor:
        """Predicted normalised pixels.

        Args:
            feat: Enhancer output, tokens [B, N(+1), C] or feature map [B, C, h, w].
            img_hw: Enhancer input size (H, W); gives the token grid.

        Returns:
            Predictions [B, 3, h * stride, w * stride].
        """
        grid = (img_hw[0] // self.stride, img_hw[1] // self.stride)
        return self.shuffle(self.proj(to_featmap(feat, grid)))  # [B, 3, H, W]

    def target(self, img: Tensor) -> Tensor:
        """Sliding-window-normalised target [B, 3, H, W] of original pixels ``img`` in [0, 1]."""
        return sliding_window_normalize(img, self.window_size, self.eps)

    def loss(self, feat: Tensor, img: Tensor) -> Dict[str, Tensor]:
        """ResPix loss.

        Args:
            feat: Enhancer output (see :meth:`forward`).
            img: Original (uncorrupted) images [B, 3, H, W] in [0, 1], at the enhancer's size.

        Returns:
            ``loss_respix``.
        """
        return self.loss_and_map(feat, img)[0]

    def loss_and_map(self, feat: Tensor, img: Tensor, grid: Optional[Tuple[int, int]] = None,
                     weights: Optional[Tensor] = None) -> Tuple[Dict[str, Tensor], Optional[Tensor]]:
        """ResPix loss with per-token weights, and each token's pixel loss (the enhancer's hardness of a patch).

        Args:
            feat: Enhancer output (see :meth:`forward`).
            img: Original images [B, 3, H, W] in [0, 1], at the enhancer's size.
            grid: Visual-token grid (h, w) of the generator; None: no map.
            weights: Per-token loss weights [B, h, w] (importance weights of hardness-aware sampling); None: 1.

        Returns:
            (``loss_respix``, the mean pixel loss of each token's pixels [B, h, w] (detached) or None).
        """
        pred = self(feat, img.shape[-2:])
        if pred.shape[-2:] != img.shape[-2:]:
            raise ValueError(f'ResPix predicts {tuple(pred.shape[-2:])} pixels but the image is '
                             f'{tuple(img.shape[-2:])}: the size must be a multiple of encoder_stride {self.stride}')
        target = self.target(img)
        err = (pred.float() - target).abs() if self.loss_type == 'l1' else (pred.float() - target)**2
        if weights is None:
            loss = err.mean()
        else:  # each token's weight on its own block of pixels
            loss = (err * F.interpolate(weights[:, None].float(), size=err.shape[-2:], mode='nearest')).mean()
        per_token = None
        if grid is not None:
            per_token = F.adaptive_avg_pool2d(err.detach().mean(1, keepdim=True), tuple(grid))[:, 0]  # [B, h, w]
        return dict(loss_respix=self.loss_weight * loss), per_token


@MODELS.register_module()
class CIMRevDetHead(BaseModule):
    """RevDet: binary classifier per visual token, replaced by the generator (1) or not (0).

    Logits of a feature map whose grid differs from the token grid (e.g. ResNet-50's stride 32
    against 14 x 14 DALL-E tokens) are resized bilinearly to the token grid.

    Args:
        in_channels: Enhancer feature dimension C.
        loss_weight: Factor on the binary cross-entropy.
        init_cfg: mmengine init config.
    """

    cim_target = 'replaced'  # CIM passes the replacement labels to loss()

    def __init__(self, in_channels: int, loss_weight: float = 1.0, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_weight = loss_weight
        self.proj = nn.Conv2d(in_channels, 1, kernel_size=1)

    def forward(self, feat: Tensor, grid: Tuple[int, int]) -> Tensor:
        """Replacement logits [B, h, w] on the token grid ``grid``."""
        logits = self.proj(to_featmap(feat, grid))  # [B, 1, h', w']
        if tuple(logits.shape[-2:]) != tuple(grid):
            logits = F.interpolate(logits, size=grid, mode='bilinear', align_corners=False)
        return logits[:, 0]  # [B, h, w]

    def loss(self, feat: Tensor, replaced: Tensor) -> Dict[str, Tensor]:
        """Replaced-token detection loss.

        Args:
            feat: Enhancer output, tokens [B, N(+1), C] or feature map [B, C, h, w].
            replaced: Bool labels [B, h, w], True where the token was replaced.

        Returns:
            ``loss_revdet`` (mean BCE over all tokens), ``revdet_acc`` and the logged parts of :meth:`loss_and_map`.
        """
        return self.loss_and_map(feat, replaced)[0]

    def loss_and_map(self, feat: Tensor, replaced: Tensor,
                     weights: Optional[Tensor] = None) -> Tuple[Dict[str, Tensor], Tensor]:
        """RevDet loss (the shared :func:`beitmm.models.losses.rtd_loss`), its logged parts and per-token BCE.

        Args:
            feat: Enhancer output.
            replaced: Bool labels [B, h, w].
            weights: Per-token loss weights [B, h, w]; None: 1.

        Returns:
            (``loss_revdet``, ``revdet_acc``, ``revdet_acc_replaced``, ``disc_replaced``, ``disc_kept``; the
            per-token BCE [B, h, w], detached).
        """
        out = rtd_loss(self(feat, tuple(replaced.shape[-2:])), replaced, weights=weights)
        return dict(loss_revdet=self.loss_weight * out['loss'], revdet_acc=out['acc'],
                    revdet_acc_replaced=out['acc_replaced'], disc_replaced=out['disc_replaced'],
                    disc_kept=out['disc_kept']), out['per_token']
