"""Losses of masked image modeling: token classification and feature regression."""
from typing import Dict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from beitmm.registry import MODELS


@MODELS.register_module()
class TokenClassificationLoss(nn.Module):
    """Cross-entropy against discrete visual tokens (BEiT, BEiT v2), with MIM accuracy.

    Args:
        loss_weight: Weight of the loss.
        name: Key of the loss in the returned dict.
    """

    def __init__(self, loss_weight: float = 1.0, name: str = 'loss') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.name = name

    def forward(self, pred: Tensor, target: Tensor) -> Dict[str, Tensor]:
        """Args: pred [M, V] logits, target [M] token ids. Returns loss and ``mim_acc`` (percent)."""
        if target.dtype not in (torch.long, torch.int32, torch.int64):
            raise TypeError(f'TokenClassificationLoss needs integer token ids, got {target.dtype} targets: '
                            'use FeatureRegressionLoss for feature / pixel targets')
        loss = F.cross_entropy(pred.float(), target.long())
        acc = (pred.argmax(-1) == target).float().mean() * 100
        suffix = self.name[len('loss'):]
        return {self.name: loss * self.loss_weight, f'mim_acc{suffix}': acc.detach()}


@MODELS.register_module()
class FeatureRegressionLoss(nn.Module):
    """Regression to continuous targets (teacher features, pixels): smooth-L1, MSE or cosine.

    Args:
        kind: 'smooth_l1' (MaskDistill), 'mse' (MAE-style pixels, MaskFeat) or 'cosine'.
        beta: Smooth-L1 transition point.
        loss_weight: Weight of the loss.
        name: Key of the loss in the returned dict.
    """

    KINDS = ('smooth_l1', 'mse', 'cosine')

    def __init__(self, kind: str = 'smooth_l1', beta: float = 2.0, loss_weight: float = 1.0,
                 name: str = 'loss') -> None:
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f'FeatureRegressionLoss kind {kind!r} is not one of {self.KINDS}')
        self.kind, self.beta, self.loss_weight, self.name = kind, beta, loss_weight, name

    def forward(self, pred: Tensor, target: Tensor) -> Dict[str, Tensor]:
        """Args: pred [M, D], target [M, D]. Returns the mean loss over masked tokens."""
        if pred.shape != target.shape:
            raise ValueError(f'prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ: set the '
                             "head's out_channels to the target dimension")
        pred, target = pred.float(), target.float()
        if self.kind == 'smooth_l1':
            loss = F.smooth_l1_loss(pred, target, beta=self.beta)
        elif self.kind == 'mse':
            loss = F.mse_loss(pred, target)
        else:
            loss = (1 - F.cosine_similarity(pred, target, dim=-1)).mean()
        return {self.name: loss * self.loss_weight}
