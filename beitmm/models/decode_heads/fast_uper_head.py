"""UPerHead with the same parameters and outputs as mmseg's, and a cheaper fusion convolution.

mmseg's ``UPerHead`` upsamples the four pyramid outputs to the finest level, concatenates them
and applies a 3x3 convolution (``fpn_bottleneck``). With BEiT's widths (768 channels, finest
level 1/4 of the image) that one convolution costs ~700 GFLOP per 512-px image, more than
the whole ViT-B backbone. Convolution is linear and bilinear upsampling acts on each channel
separately, so for a coarse level ``f``:

    conv3x3(up(f))[y, x] = sum_{ky, kx} up(W[:, :, ky, kx] @ f)[y + ky - 1, x + kx - 1]

i.e. the channel mixing of each of the 9 taps runs at the coarse resolution (4x, 16x and 64x
fewer pixels) and only the shifted sums happen at the fine one. The result is the same
function (equal up to float rounding); only the finest level still needs a full 3x3
convolution. The state dict is mmseg's, so checkpoints load unchanged in both directions.
"""
from typing import List

import torch
import torch.nn.functional as F
from mmseg.models.decode_heads import UPerHead
from mmseg.models.utils import resize
from torch import Tensor

from beitmm.registry import MODELS

from .low_memory import LowMemoryHeadMixin


@MODELS.register_module()
class FastUPerHead(LowMemoryHeadMixin, UPerHead):
    """mmseg ``UPerHead`` whose fusion convolution runs the coarse levels at their own size.

    Takes exactly mmseg ``UPerHead``'s arguments (``in_channels``, ``channels``,
    ``pool_scales``, ``norm_cfg``, ...); see :mod:`this module <.fast_uper_head>` for the
    identity it uses. Falls back to mmseg's path when the fusion layer is not a plain
    3x3 / padding-1 / stride-1 convolution.

    Args:
        *args: mmseg ``UPerHead`` arguments.
        with_cp: Activation checkpointing of the feature path while training: only the
            input pyramid is kept and the head's maps at 1/4 resolution are recomputed in the
            backward pass (one extra head forward). As with any checkpointed BatchNorm, the
            running statistics are updated twice per step. The loss on the upsampled logits
            is computed in row bands and recomputed too (:class:`LowMemoryHeadMixin`).
        **kwargs: mmseg ``UPerHead`` keyword arguments.
    """

    def _fast_path_ok(self) -> bool:
        conv = self.fpn_bottleneck.conv
        return (isinstance(conv, torch.nn.Conv2d) and conv.kernel_size == (3, 3) and conv.padding == (1, 1)
                and conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
                and conv.padding_mode == 'zeros' and self.fpn_bottleneck.order[0] == 'conv')

    def fuse(self, fpn_outs: List[Tensor]) -> Tensor:
        """``fpn_bottleneck(cat(upsampled fpn_outs))`` without upsampling before the convolution.

        Args:
            fpn_outs: Per-level maps [B, channels, H_i, W_i], finest first.

        Returns:
            Fused features [B, channels, H_0, W_0] (after the bottleneck's norm and activation).
        """
        cm = self.fpn_bottleneck
        w = cm.conv.weight  # [Co, levels * C, 3, 3]
        C = self.channels
        B, _, H, W = fpn_outs[0].shape
        y = F.conv2d(fpn_outs[0], w[:, :C], cm.conv.bias, padding=1)  # [B, Co, H, W]
        for i, f in enumerate(fpn_outs[1:], 1):
            wi = w[:, i * C:(i + 1) * C]  # [Co, C, 3, 3]
            if f.shape[2:] == (H, W):
                y = y + F.conv2d(f, wi, padding=1)
                continue
            for ky in range(3):
                for kx in range(3):  # one tap at a time: a single [B, Co, H, W] temporary
                    t = resize(F.conv2d(f, wi[:, :, ky, kx, None, None]), size=(H, W), mode='bilinear',
                               align_corners=self.align_corners)  # [B, Co, H, W]
                    dy, dx = ky - 1, kx - 1  # y[r, c] += t[r + dy, c + dx] where inside (zero padding)
                    r0, r1, c0, c1 = max(0, -dy), H - max(0, dy), max(0, -dx), W - max(0, dx)
                    y[:, :, r0:r1, c0:c1] += t[:, :, r0 + dy:r1 + dy, c0 + dx:c1 + dx]
        for layer in cm.order[1:]:
            if layer == 'norm' and cm.with_norm:
                y = cm.norm(y)
            elif layer == 'act' and cm.with_activation:
                y = cm.activate(y)
        return y

    def _forward_feature(self, inputs: List[Tensor]) -> Tensor:
        """Mmseg's UPerHead feature path with :meth:`fuse` as the last step.

        Args:
            inputs: Multi-level features from the neck, finest first.

        Returns:
            Features [B, channels, H_0, W_0] before ``cls_seg``.
        """
        if not self._fast_path_ok():
            return super()._forward_feature(inputs)
        inputs = self._transform_inputs(inputs)
        laterals = [conv(inputs[i]) for i, conv in enumerate(self.lateral_convs)]
        laterals.append(self.psp_forward(inputs))
        for i in range(len(laterals) - 1, 0, -1):  # top-down path
            laterals[i - 1] = laterals[i - 1] + resize(
                laterals[i], size=laterals[i - 1].shape[2:], mode='bilinear', align_corners=self.align_corners)
        fpn_outs = [self.fpn_convs[i](laterals[i]) for i in range(len(laterals) - 1)]
        fpn_outs.append(laterals[-1])
        return self.fuse(fpn_outs)
