"""The hardness head of hardness-aware replacement sampling (Hao et al. 2021; form: ``beitmm.ReplacementSampler``).

For each masked position it predicts, for every candidate token of the vocabulary, the discriminator's loss if that
candidate were placed there: a linear layer on the generator's hidden state then softplus (a loss is positive),
the same output size as the MLM head. Only the drawn candidate's loss is observed, so training regresses the
prediction at the drawn token on the discriminator's actual per-token loss there (MSE, target detached). Its input
is detached from the generator (a choice: the generator body learns from its MLM loss only, as in ELECTRA), and it
starts predicting the same hardness for every candidate (zero weights), so early sampling equals plain sampling.
The same head serves CIM (beitmm's extension, in neither paper): the candidates are visual tokens and the loss is
the enhancer's per-patch loss (for ResPix a pixel loss: no discriminator's).
"""
import math
from typing import Dict

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from beitmm.registry import MODELS


@MODELS.register_module()
class HardnessHead(nn.Module):
    """Predicted discriminator loss per (masked position, candidate token).

    Args:
        in_channels: Generator hidden width.
        vocab_size: Candidates (the generator's vocabulary).
        init_hardness: The prediction for every candidate at start (ln 2: the BCE of an undecided discriminator).
        loss_weight: Factor on the regression loss.
    """

    def __init__(self, in_channels: int, vocab_size: int, init_hardness: float = math.log(2),
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if init_hardness <= 0:
            raise ValueError(f'init_hardness must be > 0 (a predicted loss), got {init_hardness}')
        self.fc = nn.Linear(in_channels, vocab_size)
        self.init_hardness, self.loss_weight = init_hardness, loss_weight
        self.init_weights()

    def init_weights(self) -> None:
        """Zero weights and the bias whose softplus is ``init_hardness``: a flat prediction."""
        nn.init.zeros_(self.fc.weight)
        nn.init.constant_(self.fc.bias, math.log(math.expm1(self.init_hardness)))

    def forward(self, hidden: Tensor) -> Tensor:
        """Generator hidden states [M, C] -> predicted losses [M, V] (> 0)."""
        return F.softplus(self.fc(hidden.detach().float()))

    def loss(self, pred: Tensor, ids: Tensor, target: Tensor) -> Dict[str, Tensor]:
        """Regression at the drawn candidates.

        Args:
            pred: Predictions [M, V] of :meth:`forward`.
            ids: Drawn tokens [M].
            target: The discriminator's loss at those positions [M] (detached here).

        Returns:
            ``loss_hardness`` (weighted MSE) and ``hardness_err`` (mean absolute error, for the logs).
        """
        picked = pred.gather(1, ids[:, None].long())[:, 0]  # [M]
        target = target.detach().float()
        if not picked.numel():
            zero = pred.sum() * 0
            return dict(loss_hardness=zero, hardness_err=zero.detach())
        return dict(loss_hardness=self.loss_weight * F.mse_loss(picked, target),
                    hardness_err=(picked - target).abs().mean().detach())
