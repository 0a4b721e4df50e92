"""ELECTRA's discriminator head (HF ``ElectraDiscriminatorPredictions``); its loss is ``losses.rtd_loss``."""
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from beitmm.registry import MODELS


@MODELS.register_module()
class RTDHead(nn.Module):
    """ELECTRA's discriminator head, HF ``discriminator_predictions`` names: dense -> GELU -> dense_prediction.

    Args:
        in_channels: Discriminator width.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.dense = nn.Linear(in_channels, in_channels)
        self.dense_prediction = nn.Linear(in_channels, 1)

    def init_weights(self) -> None:
        """BERT's init: N(0, 0.02) weights, zero biases."""
        for m in (self.dense, self.dense_prediction):
            nn.init.normal_(m.weight, std=.02)
            nn.init.zeros_(m.bias)

    def forward(self, hidden: Tensor) -> Tensor:
        """Hidden states [..., C] -> replacement logits [...]."""
        return self.dense_prediction(F.gelu(self.dense(hidden)))[..., 0]
