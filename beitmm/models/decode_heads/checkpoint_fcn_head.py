"""mmseg's ``FCNHead`` (UperNet's auxiliary head) with activation checkpointing and the low-memory loss."""
from typing import List

from mmseg.models.decode_heads import FCNHead
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from beitmm.registry import MODELS
from .low_memory_loss import LowMemoryLossMixin


@MODELS.register_module()
class CheckpointFCNHead(LowMemoryLossMixin, FCNHead):
    """mmseg ``FCNHead``, same arguments and state dict, plus ``with_cp``.

    Args:
        *args: mmseg ``FCNHead`` arguments.
        with_cp: While training, recompute the head's convolutions in the backward pass and compute
            the loss on the upsampled logits in row bands (``LowMemoryLossMixin``), so neither
            the head's maps nor the full-size logits are kept. Off: exactly mmseg's ``FCNHead``.
        **kwargs: mmseg ``FCNHead`` keyword arguments.
    """

    def __init__(self, *args, with_cp: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.with_cp = with_cp

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Logits [B, num_classes, h, w] of the selected input level."""
        if self.with_cp and self.training and any(x.requires_grad for x in inputs):
            feats = checkpoint(self._forward_feature, list(inputs), use_reentrant=False)
        else:
            feats = self._forward_feature(inputs)
        return self.cls_seg(feats)
