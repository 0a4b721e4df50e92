"""Feature targets of masked distillation (MaskDistill): a frozen teacher + a normalisation.

In the unified view of masked image modeling (Peng et al., 2022), a target is N(T(I)): the
teacher T (CLIP, DINO, any beitmm BEiT checkpoint, or the identity on pixels) applied to the
full image, then a normalisation N (LayerNorm without affine for MaskDistill, per-patch
normalisation for MAE-style pixels, none for MaskFeat-style features).
"""
import inspect
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from beitmm.checkpoint import converter_for, load_pretrained_backbone
from beitmm.registry import MODELS

NORMS = ('layernorm', 'none', 'patch_pixel')


def _pair(x: Union[int, Sequence[int]]) -> Tuple[int, int]:
    return (x, x) if isinstance(x, int) else (int(x[0]), int(x[1]))


def patchify(img: Tensor, patch_size: int) -> Tensor:
    """Images [B, C, H, W] -> raster-ordered patches [B, N, p*p*C] (pixel order (py, px, c))."""
    B, C, H, W = img.shape
    p = patch_size
    if H % p or W % p:
        raise ValueError(f'target view {H}x{W} is not a multiple of the patch size {p}')
    x = img.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 3, 5, 1)  # [B, h, w, p, p, C]
    return x.reshape(B, (H // p) * (W // p), p * p * C)


@MODELS.register_module()
class FeatureTarget(nn.Module):
    """Frozen teacher features (or pixels), normalised, at the student's patch grid.

    Args:
        teacher: Teacher config: ``beitmm.CLIPViT``, ``beitmm.DINOViT``, ``beitmm.BEiT`` (its last
            block's patch tokens after the final norm; give ``teacher_checkpoint`` or a
            ``Pretrained`` init_cfg) or any module mapping images [B, 3, H, W] to [B, N, D] (or a
            tuple whose last item is [B, 1+N, D] with a cls token, as BEiT's 'raw' output). None:
            the target is the image's patches (pixels).
        normalize: 'layernorm' (LayerNorm over D without affine: MaskDistill) | 'none' |
            'patch_pixel' (per-patch mean / unbiased std of pixels: MAE ``norm_pix_loss``, pixels only).
        student_patch_size: Patch size of the student; the output grid is the input view's size
            divided by it (and the pixel patch size).
        teacher_img_size: Resize the view (bicubic, antialiased) to this size before the teacher,
            e.g. 196 for a CLIP-L/14 teacher of a ViT-L/16 student (14x14 patches both). None: as is.
        teacher_checkpoint: Checkpoint of a ``beitmm.BEiT`` teacher in any layout beitmm reads
            (beitmm pretraining / fine-tuning checkpoints, official unilm files, ...).
        autocast_dtype: 'bfloat16' | 'float16' to run the teacher in reduced precision (targets
            are returned in float32). None: float32, also inside an ``--amp`` run.
        eps: Epsilon of the normalisations.
    """

    def __init__(self, teacher: Optional[dict] = None, normalize: str = 'layernorm', student_patch_size: int = 16,
                 teacher_img_size: Optional[Union[int, Sequence[int]]] = None,
                 teacher_checkpoint: Optional[str] = None, autocast_dtype: Optional[str] = None,
                 eps: float = 1e-6) -> None:
        super().__init__()
        if normalize not in NORMS:
            raise ValueError(f'FeatureTarget normalize {normalize!r} is not one of {NORMS}')
        if normalize == 'patch_pixel' and teacher is not None:
            raise ValueError("normalize='patch_pixel' normalises pixel patches: use it with teacher=None")
        if autocast_dtype not in (None, 'bfloat16', 'float16'):
            raise ValueError(f"autocast_dtype must be None, 'bfloat16' or 'float16', got {autocast_dtype!r}")
        self.normalize, self.eps = normalize, eps
        self.student_patch_size = student_patch_size
        self.teacher_img_size = _pair(teacher_img_size) if teacher_img_size is not None else None
        self.autocast_dtype = autocast_dtype
        self.teacher = self._build_teacher(teacher, teacher_checkpoint) if teacher is not None else None
        if self.teacher is None and teacher_checkpoint is not None:
            raise ValueError('teacher_checkpoint was given without a teacher config')
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def _build_teacher(cfg: dict, checkpoint: Optional[str]) -> nn.Module:
        cfg = dict(cfg)
        kind = cfg.get('type')
        cls = MODELS.get(kind) if isinstance(kind, str) else kind
        convertible = getattr(cls, 'checkpoint_converter', None) is not None  # a beitmm backbone
        if convertible and 'out_type' in inspect.signature(cls).parameters:
            cfg.update(out_type='raw', out_indices=-1)  # last block, all tokens, final norm applied
        teacher = MODELS.build(cfg)
        if converter_for(teacher) is not None:
            if checkpoint is not None:
                load_pretrained_backbone(teacher, checkpoint)
            elif isinstance(teacher.init_cfg, dict) and teacher.init_cfg.get('type') == 'Pretrained':
                teacher.init_weights()
        elif checkpoint is not None:
            if not hasattr(teacher, 'load_checkpoint'):
                raise ValueError(f'{type(teacher).__name__} has no load_checkpoint(): pass its checkpoint in '
                                 'the teacher config instead of teacher_checkpoint')
            teacher.load_checkpoint(checkpoint)
        return teacher

    @property
    def out_channels(self) -> Optional[int]:
        """Target dimension D for teachers that declare it (``out_channels`` / ``embed_dims``)."""
        if self.teacher is None:
            return None
        return getattr(self.teacher, 'out_channels', None) or getattr(self.teacher, 'embed_dims', None)

    def train(self, mode: bool = True) -> 'FeatureTarget':
        """Stay in eval mode (frozen target); ``mode`` is ignored."""
        return super().train(False)

    def init_weights(self) -> None:
        """Nothing to do: the teacher is loaded (or left as built) at construction, never re-initialised."""

    def _teacher_grid(self, size: Sequence[int], num_tokens: int) -> Tuple[int, int]:
        """Patch grid of the teacher output: from its ``patch_size`` if it has one, else square."""
        p = getattr(self.teacher, 'patch_size', None)
        grid = (-(-size[0] // p), -(-size[1] // p)) if p else (round(num_tokens**0.5), ) * 2
        if grid[0] * grid[1] != num_tokens:
            raise ValueError(f'the teacher gave {num_tokens} tokens for a {tuple(size)} input: cannot place them '
                             f'on a patch grid (expected {grid})')
        return grid

    def _teacher_features(self, img: Tensor, grid: Tuple[int, int]) -> Tensor:
        if self.teacher_img_size is not None and tuple(img.shape[-2:]) != self.teacher_img_size:
            img = F.interpolate(img, size=self.teacher_img_size, mode='bicubic', align_corners=False, antialias=True)
        dtype = getattr(torch, self.autocast_dtype) if self.autocast_dtype else None
        with torch.autocast(img.device.type, dtype=dtype, enabled=dtype is not None):
            out = self.teacher(img)
        if isinstance(out, (tuple, list)):  # BEiT 'raw': [B, 1+N, D] with the cls token first
            out = out[-1][:, 1:]
        out = out.float()  # [B, Nt, D]
        tgrid = self._teacher_grid(img.shape[-2:], out.shape[1])
        if tgrid != grid:  # teacher and student grids differ: resample the feature map
            fmap = out.transpose(1, 2).reshape(out.shape[0], -1, *tgrid)  # [B, D, ht, wt]
            out = F.interpolate(fmap, size=grid, mode='bilinear', align_corners=False).flatten(2).transpose(1, 2)
        return out  # [B, N, D]

    @torch.no_grad()
    def forward(self, img: Tensor) -> Tensor:
        """Targets of the view the student sees (unmasked).

        Args:
            img: Target view [B, 3, H, W], normalised for the teacher.

        Returns:
            Float32 targets [B, N, D], N = (H / student_patch_size) * (W / student_patch_size), raster order.
        """
        p = self.student_patch_size
        grid = (img.shape[-2] // p, img.shape[-1] // p)
        if self.teacher is None:
            x = patchify(img.float(), p)  # [B, N, p*p*3]
        else:
            x = self._teacher_features(img, grid)
        if self.normalize == 'layernorm':
            x = F.layer_norm(x, x.shape[-1:], eps=self.eps)  # no affine parameters
        elif self.normalize == 'patch_pixel':
            x = (x - x.mean(-1, keepdim=True)) / (x.var(-1, keepdim=True) + self.eps).sqrt()
        return x
