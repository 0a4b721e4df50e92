"""Frozen CLIP image encoder (OpenAI's visual tower) as a feature teacher.

Parameter names are those of openai/CLIP ``model.py`` ``VisionTransformer`` (MIT licence):
``conv1``, ``class_embedding``, ``positional_embedding``, ``ln_pre``,
``transformer.resblocks.{i}.{ln_1, attn.in_proj_weight, attn.in_proj_bias, attn.out_proj, ln_2,
mlp.c_fc, mlp.c_proj}``, ``ln_post``, ``proj``. Files accepted: OpenAI's TorchScript ``.pt``
archives (read without running their code, see :mod:`beitmm.checkpoint.io.torchscript`), full CLIP state dicts
(``visual.`` prefix, text tower ignored) and visual-only state dicts.
As in BEiT v2's CLIP teacher, every token goes through ``ln_post`` and ``proj`` (OpenAI applies
them to the class token only), giving 512-d patch features for ViT-B/16.
"""
from typing import Mapping, Optional, Sequence, Union

import torch
import torch.nn as nn
from torch import Tensor

from beitmm.registry import MODELS

from .common import (
    FrozenTeacher,
    grid_pos_embed,
    load_teacher_state,
    pair,
    read_teacher_weights,
    resolve_arch,
    select_prefix,
)

CLIP_ARCHS = {
    **dict.fromkeys(['b', 'base'], dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072,
                                        output_dims=512)),
    **dict.fromkeys(['l', 'large'], dict(embed_dims=1024, num_layers=24, num_heads=16, feedforward_channels=4096,
                                         output_dims=768)),
}


class QuickGELU(nn.Module):
    """CLIP's activation: ``x * sigmoid(1.702 x)``."""

    def forward(self, x: Tensor) -> Tensor:
        """Apply the activation elementwise.

        Args:
            x: Any tensor.

        Returns:
            ``x * sigmoid(1.702 x)``, of the shape of ``x``.
        """
        return x * torch.sigmoid(1.702 * x)


class CLIPMLP(nn.Module):
    """``c_fc`` -> QuickGELU -> ``c_proj``."""

    def __init__(self, dims: int, hidden: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(dims, hidden)
        self.gelu = QuickGELU()
        self.c_proj = nn.Linear(hidden, dims)

    def forward(self, x: Tensor) -> Tensor:
        """Run the MLP.

        Args:
            x: Tokens [B, L, C].

        Returns:
            Tokens [B, L, C].
        """
        return self.c_proj(self.gelu(self.c_fc(x)))


class ResidualAttentionBlock(nn.Module):
    """Pre-norm transformer block of CLIP (``nn.MultiheadAttention`` keeps OpenAI's key names)."""

    def __init__(self, dims: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dims)
        self.attn = nn.MultiheadAttention(dims, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(dims)
        self.mlp = CLIPMLP(dims, hidden)

    def forward(self, x: Tensor) -> Tensor:
        """Args: x [B, L, C]. Returns [B, L, C]."""
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class CLIPTransformer(nn.Module):
    """Stack of blocks at ``transformer.resblocks``."""

    def __init__(self, dims: int, layers: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(dims, heads, hidden) for _ in range(layers)])

    def forward(self, x: Tensor) -> Tensor:
        """Run the blocks in order.

        Args:
            x: Tokens [B, L, C].

        Returns:
            Tokens [B, L, C] after the last block.
        """
        for blk in self.resblocks:
            x = blk(x)
        return x


@MODELS.register_module()
class CLIPViT(FrozenTeacher):
    """OpenAI CLIP ViT image encoder returning per-patch features of the last layer.

    Args:
        arch: 'base' (ViT-B/16 or B/32, 512-d output) | 'large' (ViT-L/14, 768-d) or a dict with
            ``embed_dims``, ``num_layers``, ``num_heads``, optional ``feedforward_channels`` (4x)
            and ``output_dims``.
        patch_size: Patch size (16 for ViT-B/16, 14 for ViT-L/14).
        img_size: Resolution of the learned position grid (224; 336 for ViT-L/14@336px). Other
            input sizes work: positions are resized bicubically on the fly.
        checkpoint: OpenAI ``.pt`` archive, CLIP state dict (``visual.`` prefix) or visual-only
            state dict; loaded strictly (no missing key) at construction.
        with_proj: Apply ``proj`` (output ``output_dims``) after ``ln_post``; else ``embed_dims``.
        with_ln_post: Apply ``ln_post`` to every token. False (with ``with_proj=False``) gives the last
            block's raw output (768-d for ViT-B/16), the MaskDistill target of the public ports
            (drkostas/MaskDistill-PyTorch, bwconrad/masked-distillation).
        with_cls: Keep the class token in the output.
        frozen: No gradients and always eval mode.
    """

    def __init__(self, arch: Union[str, dict] = 'base', patch_size: int = 16,
                 img_size: Union[int, Sequence[int]] = 224, checkpoint: Optional[Union[str, Mapping]] = None,
                 with_proj: bool = True, with_ln_post: bool = True, with_cls: bool = False,
                 frozen: bool = True) -> None:
        super().__init__(frozen)
        if with_proj and not with_ln_post:
            raise ValueError('CLIPViT: proj follows ln_post in CLIP; with_proj=True needs with_ln_post=True')
        arch = resolve_arch(arch, CLIP_ARCHS, 'CLIPViT')
        C = self.embed_dims = arch['embed_dims']
        self.output_dims = arch.get('output_dims', C)
        self.patch_size, self.img_size = patch_size, pair(img_size)
        self.grid = (self.img_size[0] // patch_size, self.img_size[1] // patch_size)
        self.with_proj, self.with_ln_post, self.with_cls = with_proj, with_ln_post, with_cls
        self.out_channels = self.output_dims if with_proj else C
        scale = C**-0.5
        self.conv1 = nn.Conv2d(3, C, patch_size, patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(C))
        self.positional_embedding = nn.Parameter(scale * torch.randn(self.grid[0] * self.grid[1] + 1, C))
        self.ln_pre = nn.LayerNorm(C)
        self.transformer = CLIPTransformer(C, arch['num_layers'], arch['num_heads'], arch['feedforward_channels'])
        self.ln_post = nn.LayerNorm(C)
        self.proj = nn.Parameter(scale * torch.randn(C, self.output_dims))
        if checkpoint is not None:
            self.load_checkpoint(checkpoint)
        self.freeze()

    def load_checkpoint(self, checkpoint: Union[str, Mapping]) -> list:
        """Load OpenAI / CLIP weights strictly (see class doc).

        Args:
            checkpoint: Path or loaded state dict.

        Returns:
            Names of file tensors the visual tower does not use (text tower excluded).
        """
        source = checkpoint if isinstance(checkpoint, str) else 'CLIP state dict'
        state = select_prefix(read_teacher_weights(checkpoint), ('visual.', ''), 'conv1.weight')
        return load_teacher_state(self, state, 'positional_embedding', self.grid, source)

    def forward(self, img: Tensor) -> Tensor:
        """Patch features of the last layer.

        Args:
            img: Images [B, 3, H, W] normalised with CLIP's mean / std; H, W multiples of the patch.

        Returns:
            [B, N, D] (``with_cls``: [B, 1+N, D]), D = ``out_channels``.
        """
        B, _, H, W = img.shape
        if H % self.patch_size or W % self.patch_size:
            raise ValueError(f'CLIPViT input {H}x{W} is not a multiple of the patch size {self.patch_size}')
        x = self.conv1(img.to(self.conv1.weight.dtype))  # [B, C, h, w]
        grid = (x.shape[-2], x.shape[-1])
        x = x.flatten(2).transpose(1, 2)  # [B, N, C]
        cls = self.class_embedding.to(x.dtype).expand(B, 1, -1)
        x = torch.cat([cls, x], dim=1)  # [B, 1+N, C]
        pos = grid_pos_embed(self.positional_embedding.unsqueeze(0), self.grid, grid)
        x = self.ln_pre(x + pos.to(x.dtype))
        x = self.transformer(x)  # [B, 1+N, C]
        if self.with_ln_post:
            x = self.ln_post(x)
        if self.with_proj:
            x = x @ self.proj.to(x.dtype)  # [B, 1+N, D]
        return x if self.with_cls else x[:, 1:]

