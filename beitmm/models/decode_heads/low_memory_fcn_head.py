"""mmseg's ``FCNHead`` (UperNet's auxiliary head) with activation checkpointing and the low-memory loss."""
from mmseg.models.decode_heads import FCNHead

from beitmm.registry import MODELS

from .low_memory import LowMemoryHeadMixin


@MODELS.register_module()
class LowMemoryFCNHead(LowMemoryHeadMixin, FCNHead):
    """mmseg ``FCNHead``, same arguments and state dict, plus ``with_cp``.

    Args:
        *args: mmseg ``FCNHead`` arguments.
        with_cp: While training, recompute the head's convolutions in the backward pass and compute
            the loss on the upsampled logits in row bands (:class:`LowMemoryHeadMixin`), so neither
            the head's maps nor the full-size logits are kept. Off: exactly mmseg's ``FCNHead``.
        **kwargs: mmseg ``FCNHead`` keyword arguments.
    """
