"""One masked-image-modeling algorithm for the whole BEiT family (the unified view of MaskDistill).

A MIM model = student backbone with a mask token + target generator (DALL-E tokenizer, VQ-KD,
a teacher network, pixels) + optional neck (e.g. BEiT v2's CLS-pretraining branch) + head + loss.
Each part is a registered component chosen in the config: BEiT, BEiT v2, MaskDistill and pixel
regression are configs of this class.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor

from beitmm.registry import MODELS


@MODELS.register_module()
class MaskedImageModeling(BaseModel):
    """Student predicts targets of masked patches from the visible ones.

    Args:
        backbone: Student config (``beitmm.BEiT`` with ``use_mask_token=True``, ``out_type='raw'``).
        head: Head config (``beitmm.MIMHead``).
        target_generator: Frozen target network config; it maps the target view [B, 3, H', W']
            to token ids [B, Hp, Wp] / [B, N] or features [B, N, D]. None: the student's own
            input view is passed to the head's loss as pixels (handled by a pixel target module).
        neck: Optional neck turning the backbone outputs into extra token sets, each scored by
            the same head; it returns a list of [B, N, C] tensors. A neck with ``drives_backbone``
            (BEiT v2 CLS-pretraining, ``beitmm.BEiTV2Neck``) is called as ``neck(backbone, img, mask)``
            and returns all token sets, the final patch tokens first.
        data_preprocessor: Defaults to ``beitmm.TwoViewDataPreprocessor``.
        save_target_generator: Keep the frozen target generator's weights in checkpoints.
        init_cfg: mmengine init config.
    """

    def __init__(self, backbone: dict, head: dict, target_generator: Optional[dict] = None,
                 neck: Optional[dict] = None, data_preprocessor: Optional[dict] = None,
                 save_target_generator: bool = False, init_cfg: Optional[dict] = None) -> None:
        data_preprocessor = data_preprocessor or dict(type='beitmm.TwoViewDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        if getattr(self.backbone, 'mask_token', None) is None:
            raise ValueError('the MIM student needs a mask token: set use_mask_token=True in the backbone config')
        self.neck = MODELS.build(neck) if neck else None
        self.head = MODELS.build(head)
        self.target_generator = MODELS.build(target_generator) if target_generator else None
        if self.target_generator is not None:
            # Frozen: never in the optimizer, ignored by DDP, eval mode (its train() is a no-op).
            self.target_generator.requires_grad_(False)
            self.target_generator.eval()
        self.save_target_generator = save_target_generator
        self._register_state_dict_hook(self._drop_target_generator)

    @staticmethod
    def _drop_target_generator(module, state_dict, prefix, local_metadata):
        if not module.save_target_generator:
            for k in [k for k in state_dict if k.startswith(prefix + 'target_generator.')]:
                del state_dict[k]
        return state_dict

    def train(self, mode: bool = True) -> 'MaskedImageModeling':
        """Set the training mode; the target generator always stays in eval mode.

        Args:
            mode: Training (True) or evaluation (False) mode.

        Returns:
            This model.
        """
        super().train(mode)
        if self.target_generator is not None:
            self.target_generator.eval()
        return self

    # -------------------------------------------------------------------------
    def forward(self, inputs: Union[Tensor, List[Tensor]], data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """The mmengine entry point: 'loss' -> dict of losses, 'tensor' -> backbone outputs."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            img = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
            return self.backbone(img)
        raise ValueError(f'MaskedImageModeling has no {mode!r} mode (use "loss" or "tensor")')

    @staticmethod
    def collect_mask(data_samples: Sequence, grid: Tuple[int, int], device: torch.device) -> Tensor:
        """Stack the per-sample masks into a bool tensor [B, N], checking the patch grid."""
        masks = [torch.as_tensor(ds.mask) for ds in data_samples]
        mask = torch.stack(masks).to(device=device, dtype=torch.bool)
        if mask.shape[1:] != torch.Size(grid) and mask[0].numel() != grid[0] * grid[1]:
            raise ValueError(f'mask of shape {tuple(mask.shape[1:])} does not match the {grid} patch grid: '
                             'set the mask generator input_size to image size // patch size')
        mask = mask.flatten(1)
        if not mask.any(dim=1).all():
            raise ValueError('a sample has no masked patch: nothing to predict (raise num_masking_patches)')
        return mask

    def targets(self, target_view: Tensor) -> Tensor:
        """Targets from the frozen generator, flattened to [B, N] or [B, N, D]."""
        with torch.no_grad():
            target = self.target_generator(target_view)
        if target.dtype in (torch.long, torch.int32, torch.int64):
            return target.flatten(1)  # [B, N]
        return target.flatten(1, -2) if target.dim() > 3 else target  # [B, N, D]

    def loss(self, inputs: Union[Tensor, List[Tensor]], data_samples: list) -> Dict[str, Tensor]:
        """Masked prediction losses.

        Args:
            inputs: [student view [B, 3, H, W], target view [B, 3, H', W']] (one tensor when the
                target generator reads the student view).
            data_samples: Samples carrying ``mask`` [Hp, Wp] (bool).

        Returns:
            ``loss`` (+ ``loss_<i>`` per neck output) and ``mim_acc`` for token targets.
        """
        img, target_view = (inputs[0], inputs[-1]) if isinstance(inputs, (list, tuple)) else (inputs, inputs)
        p = self.backbone.patch_size
        grid = (img.shape[-2] // p, img.shape[-1] // p)
        mask = self.collect_mask(data_samples, grid, img.device)  # [B, N]
        target = self.targets(target_view)
        if target.shape[1] != mask.shape[1]:
            raise ValueError(f'the target generator gives {target.shape[1]} targets per image but the student has '
                             f'{mask.shape[1]} patches: check the target view size')
        if getattr(self.neck, 'drives_backbone', False):
            # The neck runs the backbone itself (BEiT v2 CLS branch: pre-norm states, shared bias
            # and final norm); it returns [final patch tokens, extra token sets...], each [B, N, C].
            token_sets = list(self.neck(self.backbone, img, mask))
        else:
            outs = self.backbone(img, mask)  # tuple of [B, N+1, C]
            token_sets = [outs[-1][:, 1:]]
            if self.neck is not None:
                token_sets += list(self.neck(outs))
        losses = {}
        for i, tokens in enumerate(token_sets):
            for k, v in self.head.loss(tokens, target, mask).items():
                losses[k if i == 0 else f'{k}_{i}'] = v
        return losses
