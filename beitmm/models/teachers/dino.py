"""Frozen DINO ViT (facebookresearch/dino ``vision_transformer.py`` layout) as a feature teacher.

Parameter names of the official files (``dino_vitbase16_pretrain.pth``, ``dino_deitsmall16_pretrain.pth``):
``cls_token``, ``pos_embed``, ``patch_embed.proj``, ``blocks.{i}.{norm1, attn.qkv, attn.proj, norm2,
mlp.fc1, mlp.fc2}``, ``norm``. The full training checkpoints (``*_full_checkpoint.pth``) are accepted
too: their ``teacher`` entry is used, ``backbone.`` stripped and the projection ``head.*`` dropped.
"""
from typing import Mapping, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
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

DINO_ARCHS = {
    **dict.fromkeys(['s', 'small'], dict(embed_dims=384, num_layers=12, num_heads=6, feedforward_channels=1536)),
    **dict.fromkeys(['b', 'base'], dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072)),
}


class DINOAttention(nn.Module):
    """Multi-head self-attention with a packed ``qkv`` projection (with bias)."""

    def __init__(self, dims: int, heads: int) -> None:
        super().__init__()
        self.num_heads = heads
        self.qkv = nn.Linear(dims, dims * 3)
        self.proj = nn.Linear(dims, dims)

    def forward(self, x: Tensor) -> Tensor:
        """Args: x [B, L, C]. Returns [B, L, C]."""
        B, L, C = x.shape
        qkv = self.qkv(x).reshape(B, L, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # [B, heads, L, C/heads]
        return self.proj(x.transpose(1, 2).reshape(B, L, C))


class DINOMlp(nn.Module):
    """``fc1`` -> GELU -> ``fc2``."""

    def __init__(self, dims: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dims, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dims)

    def forward(self, x: Tensor) -> Tensor:
        """Run the MLP.

        Args:
            x: Tokens [B, L, C].

        Returns:
            Tokens [B, L, C].
        """
        return self.fc2(self.act(self.fc1(x)))


class DINOBlock(nn.Module):
    """Pre-norm block, LayerNorm eps 1e-6."""

    def __init__(self, dims: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dims, eps=1e-6)
        self.attn = DINOAttention(dims, heads)
        self.norm2 = nn.LayerNorm(dims, eps=1e-6)
        self.mlp = DINOMlp(dims, hidden)

    def forward(self, x: Tensor) -> Tensor:
        """Run the block: attention and MLP, each as a pre-norm residual branch.

        Args:
            x: Tokens [B, L, C].

        Returns:
            Tokens [B, L, C].
        """
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


@MODELS.register_module()
class DINOViT(FrozenTeacher):
    """DINO ViT returning the final-norm patch features of the last block.

    Args:
        arch: 'small' (ViT-S, 384-d) | 'base' (ViT-B, 768-d) or a dict with ``embed_dims``,
            ``num_layers``, ``num_heads`` and optional ``feedforward_channels`` (4x).
        patch_size: 16 or 8.
        img_size: Resolution of the learned position grid (224); other sizes are resized on the fly.
        checkpoint: Official DINO file (``dino_vitbase16_pretrain.pth``) or a full DINO checkpoint,
            loaded strictly at construction.
        with_cls: Keep the cls token in the output.
        frozen: No gradients and always eval mode.
    """

    def __init__(self, arch: Union[str, dict] = 'base', patch_size: int = 16,
                 img_size: Union[int, Sequence[int]] = 224, checkpoint: Optional[Union[str, Mapping]] = None,
                 with_cls: bool = False, frozen: bool = True) -> None:
        super().__init__(frozen)
        arch = resolve_arch(arch, DINO_ARCHS, 'DINOViT')
        C = self.embed_dims = self.out_channels = arch['embed_dims']
        self.patch_size, self.img_size = patch_size, pair(img_size)
        self.grid = (self.img_size[0] // patch_size, self.img_size[1] // patch_size)
        self.with_cls = with_cls
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, C, patch_size, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, C))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid[0] * self.grid[1] + 1, C))
        self.blocks = nn.ModuleList(
            [DINOBlock(C, arch['num_heads'], arch['feedforward_channels']) for _ in range(arch['num_layers'])])
        self.norm = nn.LayerNorm(C, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=.02)
        nn.init.trunc_normal_(self.cls_token, std=.02)
        if checkpoint is not None:
            self.load_checkpoint(checkpoint)
        self.freeze()

    def load_checkpoint(self, checkpoint: Union[str, Mapping]) -> list:
        """Load official DINO weights strictly (see class doc).

        Args:
            checkpoint: Path or loaded state dict.

        Returns:
            Names of file tensors the backbone does not use.
        """
        source = checkpoint if isinstance(checkpoint, str) else 'DINO state dict'
        state = select_prefix(read_teacher_weights(checkpoint), ('', 'backbone.'), 'patch_embed.proj.weight')
        return load_teacher_state(self, state, 'pos_embed', self.grid, source, ignore=('head.', ))

    def forward(self, img: Tensor) -> Tensor:
        """Patch features of the last block after the final norm.

        Args:
            img: Images [B, 3, H, W] normalised with ImageNet mean / std.

        Returns:
            [B, N, C] (``with_cls``: [B, 1+N, C]).
        """
        B, _, H, W = img.shape
        if H % self.patch_size or W % self.patch_size:
            raise ValueError(f'DINOViT input {H}x{W} is not a multiple of the patch size {self.patch_size}')
        x = self.patch_embed.proj(img.to(self.cls_token.dtype))  # [B, C, h, w]
        grid = (x.shape[-2], x.shape[-1])
        x = torch.cat([self.cls_token.expand(B, -1, -1), x.flatten(2).transpose(1, 2)], dim=1)  # [B, 1+N, C]
        x = x + grid_pos_embed(self.pos_embed, self.grid, grid).to(x.dtype)
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        return x if self.with_cls else x[:, 1:]
