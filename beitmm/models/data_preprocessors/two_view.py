"""Data preprocessor for masked image modeling: normalise the student view and the target view."""
from typing import Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from beitmm.registry import MODELS


@MODELS.register_module()
class TwoViewDataPreprocessor(BaseDataPreprocessor):
    """Stack, convert BGR->RGB and normalise each view with its own mean / std.

    The student view uses ``mean``/``std``; the target view (tokenizer or teacher input) uses
    ``second_mean``/``second_std``. BEiT's DALL-E view: mean 0, std 255 (the tokenizer applies
    its logit-Laplace ``map_pixels`` itself). Teachers with their own statistics (CLIP, DINO)
    take their normalisation here too.

    Args:
        mean: Student-view mean per channel (0-255 scale, RGB order).
        std: Student-view std.
        second_mean: Target-view mean; defaults to ``mean``.
        second_std: Target-view std; defaults to ``std``.
        to_rgb: Convert BGR (OpenCV loading) to RGB.
        non_blocking: Asynchronous host-to-device copies.
    """

    def __init__(self, mean: Sequence[float] = (127.5, 127.5, 127.5), std: Sequence[float] = (127.5, 127.5, 127.5),
                 second_mean: Optional[Sequence[float]] = None, second_std: Optional[Sequence[float]] = None,
                 to_rgb: bool = True, non_blocking: bool = True) -> None:
        super().__init__(non_blocking)
        self.to_rgb = to_rgb
        for name, value in (('mean', mean), ('std', std), ('second_mean', second_mean or mean),
                            ('second_std', second_std or std)):
            if len(value) != 3:
                raise ValueError(f'{name} needs 3 values (RGB), got {value}')
            self.register_buffer(name, torch.tensor(value, dtype=torch.float32).view(1, 3, 1, 1), False)

    def _norm(self, imgs, mean, std):
        x = torch.stack(list(imgs)) if isinstance(imgs, (list, tuple)) else imgs  # [B, 3, H, W] uint8
        x = x.to(self.device, non_blocking=self._non_blocking).float()
        if self.to_rgb:
            x = x.flip(1)
        return (x - mean) / std

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise each view with its own mean and std and move the batch to the device.

        Args:
            data: Batch with ``inputs`` = per-view lists of [3, H, W] uint8 tensors (or one view)
                and ``data_samples``.
            training: Unused (the same preprocessing in training and evaluation).

        Returns:
            Normalised ``inputs`` (list of [B, 3, H, W] float tensors) and the data samples.
        """
        inputs = data['inputs']
        views = inputs if isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], (list, tuple)) \
            else [inputs]
        out = [self._norm(views[0], self.mean, self.std)]
        if len(views) > 1:
            out.append(self._norm(views[1], self.second_mean, self.second_std))
        samples = data.get('data_samples')
        if samples is not None:
            samples = [s.to(self.device) if hasattr(s, 'to') else s for s in samples]
        return dict(inputs=out, data_samples=samples)
