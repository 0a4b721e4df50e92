"""Patch tokens of an image, shared by the BEiT, BEiT-3 and VLMo backbones: padding, projection, mask token."""
from typing import Tuple

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


def patchify(image: Tensor, proj: nn.Module, patch_size: int) -> Tuple[Tensor, Tuple[int, int]]:
    """Pad an image bottom / right to a multiple of the patch size (as BEiT) and project it to patch tokens.

    Args:
        image: [B, 3, H, W]; H and W need not be multiples of ``patch_size``.
        proj: The patch projection (a Conv2d with kernel and stride ``patch_size``).
        patch_size: Patch side in pixels.

    Returns:
        Tokens [B, Hp * Wp, C] and the patch grid (Hp, Wp).
    """
    ph, pw = (-image.shape[-2]) % patch_size, (-image.shape[-1]) % patch_size
    if ph or pw:
        image = F.pad(image, (0, pw, 0, ph))
    x = proj(image)  # [B, C, Hp, Wp]
    grid = (x.shape[-2], x.shape[-1])
    return x.flatten(2).transpose(1, 2), grid  # [B, Hp * Wp, C]


def mask_patches(x: Tensor, mask: Tensor, mask_token: Tensor, grid: Tuple[int, int], name: str = 'mask') -> Tensor:
    """Replace the masked patch tokens by the mask token (masked image modeling).

    Args:
        x: Patch tokens [B, N, C].
        mask: Bool [B, Hp, Wp] or [B, N]; True patches become ``mask_token``.
        mask_token: [1, 1, C].
        grid: The patch grid (Hp, Wp), for the message.
        name: The argument's name, for the message.

    Returns:
        [B, N, C].
    """
    w = mask.flatten(1).unsqueeze(-1).to(x.dtype)  # [B, N, 1]
    if w.shape[:2] != x.shape[:2]:
        raise ValueError(f'{name} of {tuple(mask.shape[1:])} patches for {w.shape[0]} image(s) does not match the '
                         f'{grid} patch grid of {x.shape[0]} image(s)')
    return x * (1 - w) + mask_token.to(x.dtype) * w
