"""One random-resized crop, resized twice: the ViT view and the tokenizer view.

Follows microsoft/unilm ``beit/transforms.py``
(``RandomResizedCropAndInterpolationWithTwoPic``, MIT licence): crop positions are drawn
with inclusive bounds, so a crop may touch the last pixel row / column (mmpretrain's
port uses an exclusive bound and never does).

Intended BEiT pretraining pipeline (one sample, HWC uint8 arrays)::

    LoadImageFromFile -> ColorJitter(0.4, 0.4, 0.4) -> RandomFlip(0.5)
    -> TwoViewRandomResizedCrop(224, second_size=112)     # 'img', 'img_tokenizer'
    -> BlockwiseMaskGenerator(14, 75, 16)                 # 'mask'
    -> the beitmm packer (normalisation of both views happens in the data preprocessor)

This is unilm's order (``DataAugmentationForBEiT``: jitter, flip, then the two-view
crop); flip and jitter are separate standard transforms, so this one stays geometric.
"""
import math
from typing import Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from beitmm.registry import TRANSFORMS

_INTERPOLATIONS = {
    'cv2': ('nearest', 'bilinear', 'bicubic', 'area', 'lanczos'),
    'pillow': ('nearest', 'bilinear', 'bicubic', 'box', 'lanczos', 'hamming'),
}


def _to_hw(size: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """Validate an output size given as ``int`` or ``(h, w)``."""
    if isinstance(size, int):
        size = (size, size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ValueError(f'{name} must be a positive int or a pair (h, w) of them, got {size!r}')
    return int(size[0]), int(size[1])


@TRANSFORMS.register_module()
class TwoViewRandomResizedCrop(BaseTransform):
    """Random-resized crop producing an image view and a tokenizer view of one crop.

    Required keys: ``img`` (HWC or HW array). Modified keys: ``img`` (``size``),
    ``img_shape``. Added keys: ``img_tokenizer`` (``second_size``; absent when
    ``second_size`` is None), ``crop_bbox`` (np.ndarray [x1, y1, x2, y2], exclusive ends,
    in input pixels).

    BEiT v1: ``size=224, second_size=112, second_interpolation='lanczos'`` (DALL-E view).
    BEiT v2: ``size=224, second_size=224, second_interpolation='bicubic'`` (VQ-KD view;
    the second view then is a copy of the first).

    Args:
        size: Output (h, w) of ``img``. Defaults to 224.
        second_size: Output (h, w) of
            ``img_tokenizer``; None produces no second view. Defaults to 112.
        scale: Range of the crop area relative to the image.
            Defaults to (0.08, 1.0).
        ratio: Range of the crop aspect ratio w / h (log-uniform).
            Defaults to (3 / 4, 4 / 3).
        interpolation: Resize method of ``img``. Defaults to 'bicubic'.
        second_interpolation: Resize method of ``img_tokenizer``. Defaults to 'lanczos'.
        max_attempts: Random draws before falling back to a centre crop. Defaults to 10.
        backend: ``'cv2'`` (as mmcv / mmpretrain) or ``'pillow'`` (unilm's PIL
            resize, which antialiases when downscaling; uint8 images only). Defaults to 'cv2'.
    """

    def __init__(self, size: Union[int, Sequence[int]] = 224, second_size: Union[int, Sequence[int], None] = 112,
                 scale: Tuple[float, float] = (0.08, 1.0), ratio: Tuple[float, float] = (3. / 4., 4. / 3.),
                 interpolation: str = 'bicubic', second_interpolation: str = 'lanczos', max_attempts: int = 10,
                 backend: str = 'cv2') -> None:
        self.size = _to_hw(size, 'size')
        self.second_size = None if second_size is None else _to_hw(second_size, 'second_size')
        if not 0 < scale[0] <= scale[1]:
            raise ValueError(f'scale must satisfy 0 < min <= max, got {scale}')
        if not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f'ratio must satisfy 0 < min <= max, got {ratio}')
        if backend not in _INTERPOLATIONS:
            raise ValueError(f'backend must be one of {list(_INTERPOLATIONS)}, got {backend!r}')
        for name, value in (('interpolation', interpolation), ('second_interpolation', second_interpolation)):
            if value not in _INTERPOLATIONS[backend]:
                raise ValueError(f'{name} {value!r} is not supported by backend {backend!r}; '
                                 f'choose from {_INTERPOLATIONS[backend]}')
        if max_attempts < 1:
            raise ValueError(f'max_attempts must be >= 1, got {max_attempts}')
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.interpolation, self.second_interpolation = interpolation, second_interpolation
        self.max_attempts, self.backend = max_attempts, backend

    @staticmethod
    def get_params(img_h: int, img_w: int, scale: Tuple[float, float], ratio: Tuple[float, float],
                   max_attempts: int = 10) -> Tuple[int, int, int, int]:
        """Draw a crop box (torchvision / unilm rule, inclusive position bounds).

        Args:
            img_h: Image height.
            img_w: Image width.
            scale: Area range relative to the image.
            ratio: Aspect ratio (w / h) range.
            max_attempts: Draws before the centre-crop fallback. Defaults to 10.

        Returns:
            tuple[int, int, int, int]: ``(top, left, h, w)``.
        """
        area = img_h * img_w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(max_attempts):
            target_area = np.random.uniform(scale[0], scale[1]) * area
            aspect = math.exp(np.random.uniform(*log_ratio))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= img_w and 0 < h <= img_h:
                top = np.random.randint(0, img_h - h + 1)  # high is exclusive: top <= img_h - h
                left = np.random.randint(0, img_w - w + 1)
                return int(top), int(left), h, w
        in_ratio = img_w / img_h  # fallback: centre crop clipped to the ratio range
        if in_ratio < ratio[0]:
            w, h = img_w, int(round(img_w / ratio[0]))
        elif in_ratio > ratio[1]:
            h, w = img_h, int(round(img_h * ratio[1]))
        else:
            h, w = img_h, img_w
        return (img_h - h) // 2, (img_w - w) // 2, h, w

    def _resize(self, crop: np.ndarray, size: Tuple[int, int], interpolation: str) -> np.ndarray:
        return mmcv.imresize(crop, (size[1], size[0]), interpolation=interpolation, backend=self.backend)

    def transform(self, results: dict) -> dict:
        """Crop ``results['img']`` once and write the resized views (see class doc)."""
        img = results['img']
        top, left, h, w = self.get_params(img.shape[0], img.shape[1], self.scale, self.ratio, self.max_attempts)
        crop = img[top:top + h, left:left + w]
        results['img'] = self._resize(crop, self.size, self.interpolation)  # [size_h, size_w, C]
        if self.second_size is not None:
            if (self.second_size, self.second_interpolation) == (self.size, self.interpolation):
                results['img_tokenizer'] = results['img'].copy()
            else:
                results['img_tokenizer'] = self._resize(crop, self.second_size, self.second_interpolation)
        results['img_shape'] = results['img'].shape[:2]
        results['crop_bbox'] = np.array([left, top, left + w, top + h], dtype=np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, second_size={self.second_size}, '
                f'scale={self.scale}, ratio={self.ratio}, interpolation={self.interpolation!r}, '
                f'second_interpolation={self.second_interpolation!r}, backend={self.backend!r})')
