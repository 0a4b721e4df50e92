"""Data preprocessor of multimodal pretraining: one batch per stream (image / text / pair), normalised, on device.

The multi-source loader yields ``{'image': {...}, 'text': {...}, 'pair': {...}}`` (absent streams absent), each
the default_collate of per-sample dicts (vlpretrain contract): ``img`` uint8 [B, 3, H, W] RGB, ``mask`` bool
[B, h, w], ``text_ids`` / ``masked_text_ids`` / ``mlm_labels`` long [B, L], ``padding_mask`` bool [B, L],
``index`` long [B]. This module normalises ``img`` (and, with ``target_mean`` / ``target_std``, adds the
tokenizer's view ``target_img``), moves every tensor to the model's device and returns the streams as the
model's forward keyword arguments: ``model(image=..., text=..., pair=..., mode='loss')``.
"""
from typing import Dict, Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor
from torch import Tensor

from beitmm.registry import MODELS

STREAMS = ('image', 'text', 'pair')
IMAGE_KEYS = ('img', 'mask')
TEXT_KEYS = ('text_ids', 'padding_mask', 'masked_text_ids', 'mlm_labels')
REQUIRED = dict(image=IMAGE_KEYS, text=TEXT_KEYS, pair=IMAGE_KEYS + TEXT_KEYS)


@MODELS.register_module()
class MultiStreamDataPreprocessor(BaseDataPreprocessor):
    """Normalise the images of the image and pair streams and move every stream to the device.

    Args:
        mean: Pixel mean per channel (0-255 scale, RGB; BEiT-3 / VLMo: 127.5).
        std: Pixel std per channel (BEiT-3 / VLMo: 127.5).
        target_mean: Mean of the tokenizer's view (VQ-KD reads [-1, 1]: 127.5); None: the tokenizer reads ``img``.
        target_std: Std of the tokenizer's view.
        non_blocking: Asynchronous host-to-device copies.
    """

    def __init__(self, mean: Sequence[float] = (127.5, 127.5, 127.5), std: Sequence[float] = (127.5, 127.5, 127.5),
                 target_mean: Optional[Sequence[float]] = None, target_std: Optional[Sequence[float]] = None,
                 non_blocking: bool = True) -> None:
        super().__init__(non_blocking)
        if (target_mean is None) != (target_std is None):
            raise ValueError('MultiStreamDataPreprocessor: give both target_mean and target_std, or neither')
        self.with_target = target_mean is not None
        for name, value in (('mean', mean), ('std', std), ('target_mean', target_mean or mean),
                            ('target_std', target_std or std)):
            if len(value) != 3:
                raise ValueError(f'MultiStreamDataPreprocessor {name} needs 3 values (RGB), got {value}')
            self.register_buffer(name, torch.tensor(value, dtype=torch.float32).view(1, 3, 1, 1), False)

    def forward(self, data: dict, training: bool = False) -> Dict[str, Optional[dict]]:
        """Check the streams, normalise the images and move everything to the device.

        Args:
            data: ``{stream: {key: tensor}}`` for some of 'image', 'text', 'pair'.
            training: Unused (the same in training and evaluation).

        Returns:
            ``dict(image=..., text=..., pair=...)``; absent streams are None.
        """
        if not isinstance(data, dict) or not data:
            raise ValueError(f'MultiStreamDataPreprocessor expects a dict of streams {STREAMS}, got '
                             f'{type(data).__name__}: use the multi-source pretraining loader')
        unknown = sorted(set(data) - set(STREAMS))
        if unknown:
            raise ValueError(f'unknown stream(s) {unknown} in the batch; streams are {STREAMS}')
        out: Dict[str, Optional[dict]] = {s: None for s in STREAMS}
        for stream, batch in data.items():
            if batch is None:
                continue
            missing = [k for k in REQUIRED[stream] if k not in batch]
            if missing:
                raise KeyError(f'the {stream!r} stream lacks {missing} (has {sorted(batch)}); see '
                               'vlpretrain_contract / beitmm.datasets.pretrain for the batch format')
            moved = {k: self.cast_data(v) if isinstance(v, Tensor) else v for k, v in batch.items()}
            if 'img' in moved:
                raw = moved['img'].float()  # [B, 3, H, W], 0-255 RGB
                moved['img'] = (raw - self.mean) / self.std
                if self.with_target:
                    moved['target_img'] = (raw - self.target_mean) / self.target_std
                moved['mask'] = moved['mask'].to(torch.bool)
            if 'padding_mask' in moved:
                moved['padding_mask'] = moved['padding_mask'].to(torch.bool)
            out[stream] = moved
        if all(v is None for v in out.values()):
            raise ValueError('the batch has no stream: every stream count of the loader is 0')
        return out
