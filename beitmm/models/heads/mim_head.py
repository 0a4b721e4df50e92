"""Prediction head of masked image modeling: a linear layer on masked positions only."""
from typing import Dict, Optional

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from beitmm.registry import MODELS

from ..layers import trunc_normal_init_


@MODELS.register_module()
class MIMHead(BaseModule):
    """Linear prediction of the targets at masked positions (BEiT's ``lm_head``).

    Visible tokens are never projected: with 40% masking and an 8192-way vocabulary that
    skips 60% of the head's cost.

    Args:
        in_channels: Token dimension C of the backbone.
        out_channels: Vocabulary size (token targets) or target feature dimension.
        loss: Loss config (``beitmm.TokenClassificationLoss`` / ``beitmm.FeatureRegressionLoss``);
            None: ``beitmm.TokenClassificationLoss``.
        init_std: Std of the weight init: a normal truncated at +-1 std with zero bias, as unilm's
            pretraining ``lm_head`` (``modeling_pretrain.py``).
    """

    def __init__(self, in_channels: int, out_channels: int, loss: Optional[dict] = None,
                 init_std: float = 0.02) -> None:
        super().__init__()
        self.fc = nn.Linear(in_channels, out_channels)
        self.loss_module = MODELS.build(dict(type='beitmm.TokenClassificationLoss') if loss is None else loss)
        self.init_std = init_std

    def init_weights(self) -> None:
        """The unilm ``lm_head`` init: truncated normal (+-1 std), zero bias."""
        trunc_normal_init_(self.fc.weight, self.init_std, mode='pretrain')
        nn.init.zeros_(self.fc.bias)

    def forward(self, tokens: Tensor, mask: Tensor) -> Tensor:
        """Predict at masked positions.

        Args:
            tokens: Patch tokens [B, N, C] (cls token removed).
            mask: Bool [B, N], True where masked.

        Returns:
            Predictions [M, out_channels] for the M masked positions, batch-major order.
        """
        return self.fc(tokens[mask])  # [M, C] -> [M, out]

    def loss(self, tokens: Tensor, target: Tensor, mask: Tensor) -> Dict[str, Tensor]:
        """Loss of the masked predictions against targets [B, N] (ids) or [B, N, D] (features)."""
        return self.loss_module(self(tokens, mask), target[mask])
