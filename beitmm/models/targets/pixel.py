"""Pixel targets for masked image modeling (MAE / SimMIM style regression)."""
import torch
import torch.nn as nn
from torch import Tensor

from beitmm.registry import MODELS


@MODELS.register_module()
class PixelTarget(nn.Module):
    """Patchified pixels of the target view, optionally normalised per patch (MAE's ``norm_pix_loss``).

    Args:
        patch_size: Patch size of the student; each target is one patch, p * p * 3 values.
        norm_pix: Normalise each patch by its own mean and variance.
        eps: Variance epsilon.
    """

    def __init__(self, patch_size: int = 16, norm_pix: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        self.patch_size, self.norm_pix, self.eps = patch_size, norm_pix, eps

    @torch.no_grad()
    def forward(self, img: Tensor) -> Tensor:
        """Args: img [B, 3, H, W]. Returns targets [B, N, p*p*3] in raster patch order."""
        p = self.patch_size
        B, C, H, W = img.shape
        if H % p or W % p:
            raise ValueError(f'target view {H}x{W} is not a multiple of the patch size {p}')
        x = img.float().reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 3, 5, 1)  # [B, h, w, p, p, C]
        x = x.reshape(B, (H // p) * (W // p), p * p * C)
        if self.norm_pix:
            mean, var = x.mean(-1, keepdim=True), x.var(-1, keepdim=True)
            x = (x - mean) / (var + self.eps).sqrt()
        return x
