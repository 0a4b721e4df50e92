"""Focal loss for masked-token generators (Hao et al. 2021's fix against over-confident generators).

``L = mean_masked (1 - p(x))^γ · (-log p(x))``, ``p(x)`` the predicted probability of the original token (Lin et al.
2017's focal loss, without the class weight α). ``γ = 0`` is the plain cross-entropy of MLM / BEiT; larger ``γ``
down-weights positions the generator already gets right, which keeps its distribution flatter and lowers the rate at
which sampling draws the original token back. The paper's γ could not be checked; configs say which they use.
"""
from typing import Dict

import torch
from torch import Tensor, nn

from beitmm.registry import MODELS


def focal_cross_entropy(logits: Tensor, target: Tensor, gamma: float = 0.) -> Tensor:
    """Mean focal cross-entropy.

    Args:
        logits: Scores [M, V].
        target: Class ids [M].
        gamma: Focusing exponent (>= 0; 0 is cross-entropy).

    Returns:
        Scalar loss (0 for M = 0, with gradient).
    """
    if gamma < 0:
        raise ValueError(f'focal loss gamma must be >= 0 (0 is plain cross-entropy), got {gamma}')
    if not target.numel():
        return logits.sum() * 0
    logp = torch.log_softmax(logits.float(), dim=-1).gather(1, target.long()[:, None])[:, 0]  # [M]
    if gamma == 0:
        return -logp.mean()
    return -((1 - logp.exp()).clamp_min(0) ** gamma * logp).mean()


@MODELS.register_module()
class FocalMLMLoss(nn.Module):
    """Focal cross-entropy against token ids, with accuracy: a drop-in for ``beitmm.TokenClassificationLoss``.

    Args:
        gamma: Focusing exponent γ (>= 0; 0 equals cross-entropy).
        loss_weight: Weight of the loss.
        name: Key of the loss in the returned dict.
    """

    def __init__(self, gamma: float = 0., loss_weight: float = 1.0, name: str = 'loss') -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f'FocalMLMLoss: gamma must be >= 0 (0 is plain cross-entropy), got {gamma}')
        self.gamma, self.loss_weight, self.name = gamma, loss_weight, name

    def forward(self, pred: Tensor, target: Tensor) -> Dict[str, Tensor]:
        """Args: pred [M, V] logits, target [M] token ids. Returns the loss and ``mim_acc`` (percent)."""
        if target.dtype not in (torch.long, torch.int32, torch.int64):
            raise TypeError(f'FocalMLMLoss needs integer token ids, got {target.dtype} targets')
        loss = focal_cross_entropy(pred, target, self.gamma)
        acc = (pred.argmax(-1) == target).float().mean() * 100 if target.numel() else loss.detach() * 0
        return {self.name: loss * self.loss_weight, f'mim_acc{self.name[len("loss"):]}': acc.detach()}

    def extra_repr(self) -> str:
        """The settings, for the module's repr."""
        return f'gamma={self.gamma}, loss_weight={self.loss_weight}'


__all__ = ['FocalMLMLoss', 'focal_cross_entropy']
