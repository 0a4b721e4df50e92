"""ViTDet's simple feature pyramid: every scale from the last map of a plain ViT.

Li et al., "Exploring Plain Vision Transformer Backbones for Object Detection" (2022), detectron2
``projects/ViTDet`` ``SimpleFeaturePyramid``: from the stride-16 map, 2x2 transposed convolutions give strides
8 and 4 (two of them with a norm and GELU between), identity stride 16, 2x2 max pooling stride 32; each level then
gets a 1x1 and a 3x3 convolution with a norm after each (no bias), and a stride-2 1x1 max pooling of the last level
adds stride 64 (``LastLevelMaxPool``). mmdet 3.3 has no such neck in its package (its ViTDet project is in the
source repository only), so beitmm has its own.
"""
from typing import List, Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from beitmm.registry import MODELS


def _scale_branch(scale: float, dim: int, norm_cfg: dict) -> Tuple[nn.Module, int]:
    """The resampling of one level and its output width."""
    if scale == 4.0:
        return nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 2, 2, 2), build_norm_layer(norm_cfg, dim // 2)[1], nn.GELU(),
            nn.ConvTranspose2d(dim // 2, dim // 4, 2, 2)), dim // 4
    if scale == 2.0:
        return nn.ConvTranspose2d(dim, dim // 2, 2, 2), dim // 2
    if scale == 1.0:
        return nn.Identity(), dim
    if scale == 0.5:
        return nn.MaxPool2d(2, 2), dim
    raise ValueError(f'scale factor {scale} is not one of ViTDet\'s 4.0, 2.0, 1.0, 0.5')


@MODELS.register_module()
class SimpleFPN(BaseModule):
    """ViTDet's simple feature pyramid (strides 4, 8, 16, 32 and a pooled 64 from one stride-16 map).

    Args:
        in_channels: Width of the backbone's map (768 for ViT-B); ``dict(follows='backbone')`` in configs.
        out_channels: Width of every pyramid level (256).
        scale_factors: Resampling of each level relative to the input map (ViTDet: 4, 2, 1, 0.5).
        num_outs: Levels returned; one more than ``len(scale_factors)`` adds ViTDet's ``LastLevelMaxPool``.
        norm_cfg: Norm after each convolution (ViTDet: LayerNorm over channels, ``beitmm.LN2d``).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 256,
                 scale_factors: Sequence[float] = (4.0, 2.0, 1.0, 0.5),
                 num_outs: int = 5,
                 norm_cfg: Union[dict, None] = None,
                 init_cfg: Union[dict, List[dict], None] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        norm_cfg = dict(norm_cfg or dict(type='beitmm.LN2d'))
        if num_outs not in (len(scale_factors), len(scale_factors) + 1):
            raise ValueError(f'num_outs={num_outs}: SimpleFPN gives len(scale_factors) = {len(scale_factors)} levels, '
                             'or one more with the pooled top level')
        self.in_channels = in_channels
        self.num_outs = num_outs
        self.resample = nn.ModuleList()
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for scale in scale_factors:
            branch, dim = _scale_branch(float(scale), in_channels, norm_cfg)
            self.resample.append(branch)
            self.lateral_convs.append(ConvModule(dim, out_channels, 1, bias=False, norm_cfg=norm_cfg, act_cfg=None))
            self.fpn_convs.append(
                ConvModule(out_channels, out_channels, 3, padding=1, bias=False, norm_cfg=norm_cfg, act_cfg=None))

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Pyramid from the last map.

        Args:
            inputs: Backbone outputs; the last is used, [B, C, H, W] at stride 16.

        Returns:
            ``num_outs`` maps [B, out_channels, H * s, W * s], finest first.
        """
        x = inputs[-1]
        levels = zip(self.resample, self.lateral_convs, self.fpn_convs, strict=True)
        outs = [fpn(lat(res(x))) for res, lat, fpn in levels]
        if self.num_outs > len(outs):
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
