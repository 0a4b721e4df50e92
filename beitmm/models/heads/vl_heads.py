"""Task heads of the VL models, with the module names of the official checkpoints (they load by copy).

BEiT-3 (unilm ``beit3/modeling_finetune.py``): ``pooler.{norm, dense}``, ``head.{0, 1, 3}`` (VQA),
``head.{norm1, dense1, norm2, dense2}`` (NLVR2), ``vision_head`` / ``language_head`` / ``logit_scale``
(retrieval). VLMo (``vlmo/modules/vlmo_module.py``): ``pooler.dense``, ``vqa_classifier.{0, 1, 3}``,
``nlvr2_classifier.{0, 1, 3}``, ``itc_{image,text}_proj.fc``, ``itm_score.fc``.
"""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from ..layers import trunc_normal_init_


class Pooler(nn.Module):
    """``[B, C] -> tanh(dense(norm(x)))``; BEiT-3 normalises first (``norm``), VLMo does not.

    Args:
        dim: Width.
        with_norm: LayerNorm before the dense layer (BEiT-3).
        eps: LayerNorm epsilon.
    """

    def __init__(self, dim: int, with_norm: bool = True, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps) if with_norm else None
        self.dense = nn.Linear(dim, dim)
        self.activation = nn.Tanh()

    def forward(self, x: Tensor) -> Tensor:
        """[B, C] -> [B, C]."""
        return self.activation(self.dense(x if self.norm is None else self.norm(x)))


def mlp_classifier(in_dim: int, hidden: int, num_classes: int, eps: float = 1e-5) -> nn.Sequential:
    """``Linear -> LayerNorm -> GELU -> Linear`` (keys ``0, 1, 3``): BEiT-3 / VLMo VQA, VLMo NLVR2."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.LayerNorm(hidden, eps=eps), nn.GELU(),
                         nn.Linear(hidden, num_classes))


class TwoLayerMLP(nn.Module):
    """BEiT-3's NLVR2 head: ``norm1 -> dense1 -> norm2 -> GELU -> dense2``.

    Args:
        in_dim: Input width (4C: two pairs of (image cls, text cls)).
        hidden: Hidden width (2C).
        num_classes: Outputs (2).
        eps: LayerNorm epsilon.
    """

    def __init__(self, in_dim: int, hidden: int, num_classes: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(in_dim, eps=eps)
        self.dense1 = nn.Linear(in_dim, hidden)
        self.norm2 = nn.LayerNorm(hidden, eps=eps)
        self.act = nn.GELU()
        self.dense2 = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """[B, in_dim] -> [B, num_classes]."""
        return self.dense2(self.act(self.norm2(self.dense1(self.norm1(x)))))


class Projection(nn.Module):
    """VLMo's ``itc_*_proj``: a bias-free Linear named ``fc``."""

    def __init__(self, dim: int, out_dim: Optional[int] = None) -> None:
        super().__init__()
        self.fc = nn.Linear(dim, out_dim or dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """[B, C] -> [B, C']."""
        return self.fc(x)


def init_head(module: nn.Module, scale: float = 1.0) -> None:
    """Unilm's head init: truncated-normal(0.02) Linears with zero bias, LayerNorm 1 / 0; Linears times ``scale``.

    Args:
        module: The head.
        scale: Multiplier of the Linear weights and biases after init (BEiT-3 NLVR2 / ImageNet heads: 0.001).
    """
    for m in module.modules():
        if isinstance(m, nn.Linear):
            trunc_normal_init_(m.weight, .02, mode='pretrain')
            if m.bias is not None:
                nn.init.zeros_(m.bias)
            if scale != 1.0:
                m.weight.data.mul_(scale)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
