"""Linear probing: an mmpretrain ImageClassifier whose backbone is frozen (no grad, eval mode)."""
from typing import Optional

import torch
from mmpretrain.models.classifiers import ImageClassifier

from beitmm.registry import MODELS


@MODELS.register_module()
class LinearProbeClassifier(ImageClassifier):
    """Classifier for linear probing: only the neck (BatchNorm statistics) and the head learn.

    The backbone is built frozen (``requires_grad=False``, so the optimizer skips it), stays in
    eval mode (no drop path / dropout) and runs under ``no_grad`` (no activation memory).

    Args:
        backbone: Backbone config (``beitmm.BEiT`` with ``out_type='raw'`` and the probed ``out_indices``).
        neck: Neck config (``beitmm.LinearProbeNeck``).
        head: Head config (``LinearClsHead`` with ``in_channels`` = 2C).
        data_preprocessor: Preprocessor config.
        train_cfg: Batch augments (none for linear probing).
        init_cfg: mmengine init config.
    """

    def __init__(self, backbone: dict, neck: Optional[dict] = None, head: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head, data_preprocessor=data_preprocessor,
                         train_cfg=train_cfg, init_cfg=init_cfg)
        self.backbone.requires_grad_(False)

    def train(self, mode: bool = True) -> 'LinearProbeClassifier':
        """Set the training mode; the frozen backbone always stays in eval mode.

        Args:
            mode: Training (True) or evaluation (False) mode.

        Returns:
            This model.
        """
        super().train(mode)
        self.backbone.eval()
        return self

    def extract_feat(self, inputs: torch.Tensor, stage: str = 'neck'):
        """Frozen backbone features -> neck -> (optionally) the head's pre-logits.

        Args:
            inputs: Images [B, 3, H, W].
            stage: 'backbone' | 'neck' | 'pre_logits'.
        """
        with torch.no_grad():
            x = self.backbone(inputs)
        if stage == 'backbone':
            return x
        if self.with_neck:
            x = self.neck(x)
        if stage == 'neck':
            return x
        return self.head.pre_logits(x)
