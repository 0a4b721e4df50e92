"""BLIP's ``RandomAugment`` as BEiT-3 and VLMo fine-tune with it: N ops from a 10-op list at one magnitude.

unilm ``beit3/datasets.py:748-754`` (``--randaug``, VQAv2 and captioning) and ``vlmo/transforms/square_transform.py:
21-31`` (every VLMo fine-tuning task) call ``RandomAugment(2, 7, isPIL=True, augs=[Identity, AutoContrast,
Equalize, Brightness, Sharpness, ShearX, ShearY, TranslateX, TranslateY, Rotate])`` of ``beit3/randaug.py`` (ALBEF /
BLIP's file). mmpretrain's ``RandAugment`` has another op list (Invert, Solarize, Posterize, ColorTransform, ...)
and other magnitude scales, so this is its own transform, written from the official behaviour:

- ``num_ops`` op names drawn uniformly *with replacement*; each is applied with probability 0.5 at level
  ``magnitude`` of 10 (``randaug.py:310-335``);
- Brightness / Sharpness factor ``level / 10 * 1.8 + 0.1`` (1.36 at 7); ShearX / Y ``level / 10 * 0.3`` (0.21),
  TranslateX / Y ``level / 10 * 10`` *pixels* (7), Rotate ``level / 10 * 30`` degrees (21), each with a random
  sign, border filled with grey (128, 128, 128) (``randaug.py:208-266,285-306``);
- the random numbers are drawn from numpy's global generator in the official order (op choice, then per op its
  0.5 draw and its sign draw), so a seeded run draws the same ops as the official one.

Two quirks of the official ops are kept, because the released models were trained with them:
AutoContrast negates the channel minimum as a uint8 (``randaug.py:31``), which wraps, so a channel whose minimum
is above 0 becomes 255 everywhere (only channels that reach 0 are stretched); Sharpness casts its blend to uint8
without clipping (``randaug.py:148``), so values beyond 0..255 wrap as numpy's cast does on x86.
Every op is per channel or geometric with a grey fill, so BGR (mmcv) and RGB (PIL) images give the same result.
"""
from typing import Callable, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from beitmm.registry import TRANSFORMS

BLIP_OPS = ('Identity', 'AutoContrast', 'Equalize', 'Brightness', 'Sharpness', 'ShearX', 'ShearY', 'TranslateX',
            'TranslateY', 'Rotate')  # unilm beit3/datasets.py:751-752, in its order


def autocontrast(img: np.ndarray) -> np.ndarray:
    """Per-channel stretch of [min, max] to [0, 255], with the official uint8 wrap of ``-min`` (see module doc)."""
    out = np.empty_like(img)
    for c in range(img.shape[2]):
        ch = img[..., c]
        low, high = int(ch.min()), int(ch.max())
        if high <= low:
            out[..., c] = ch
            continue
        scale = 255 / (high - low)
        offset = ((-low) % 256) * scale  # -np.uint8(low) wraps to 256 - low: the official offset
        table = (np.arange(256) * scale + offset).clip(0, 255).astype(np.uint8)
        out[..., c] = table[ch]
    return out


def equalize(img: np.ndarray) -> np.ndarray:
    """PIL-style histogram equalisation per channel (``randaug.py:43-63``)."""
    out = np.empty_like(img)
    for c in range(img.shape[2]):
        ch = img[..., c]
        hist = np.bincount(ch.ravel(), minlength=256)
        step = int(hist[hist != 0][:-1].sum()) // 255  # pixels outside the last used bin, per output level
        if step == 0:
            out[..., c] = ch
            continue
        shifted = np.concatenate(([step // 2], hist[:-1]))
        out[..., c] = (np.cumsum(shifted) // step).clip(0, 255).astype(np.uint8)[ch]
    return out


def brightness(img: np.ndarray, factor: float) -> np.ndarray:
    """Pixel values times ``factor``, clipped and truncated (float32 table, ``randaug.py:122-128``)."""
    return (np.arange(256, dtype=np.float32) * factor).clip(0, 255).astype(np.uint8)[img]


def sharpness(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with a 3x3 smoothing (centre 5, others 1, over 13) on the interior; border pixels kept."""
    kernel = np.ones((3, 3), np.float32)
    kernel[1, 1] = 5
    blurred = cv2.filter2D(img, -1, kernel / 13)  # uint8, rounded
    if factor == 0:
        return blurred
    if factor == 1:
        return img
    out = img.astype(np.float32)
    inner = blurred[1:-1, 1:-1].astype(np.float32)
    out[1:-1, 1:-1] = inner + factor * (out[1:-1, 1:-1] - inner)
    return out.astype(np.uint8)  # no clip: the official cast (module doc)


def _warp(img: np.ndarray, matrix: np.ndarray, fill: Tuple[int, ...]) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.warpAffine(img, matrix, (w, h), borderValue=fill, flags=cv2.INTER_LINEAR)


def _affine(img: np.ndarray, rows, fill: Tuple[int, ...]) -> np.ndarray:
    return _warp(img, np.array(rows, np.float32), fill)  # float32 matrix, as the official shear / translate


def rotate(img: np.ndarray, degrees: float, fill: Tuple[int, ...]) -> np.ndarray:
    """Rotate about the image centre (W / 2, H / 2) by ``degrees`` (counter-clockwise), bilinear."""
    h, w = img.shape[:2]
    return _warp(img, cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1), fill)  # float64 matrix, as official


OPS: Dict[str, Callable] = {
    'Identity': lambda img, fill, v: img,
    'AutoContrast': lambda img, fill, v: autocontrast(img),
    'Equalize': lambda img, fill, v: equalize(img),
    'Brightness': lambda img, fill, v: brightness(img, v),
    'Sharpness': lambda img, fill, v: sharpness(img, v),
    'ShearX': lambda img, fill, v: _affine(img, [[1, v, 0], [0, 1, 0]], fill),
    'ShearY': lambda img, fill, v: _affine(img, [[1, 0, 0], [v, 1, 0]], fill),
    'TranslateX': lambda img, fill, v: _affine(img, [[1, 0, -v], [0, 1, 0]], fill),
    'TranslateY': lambda img, fill, v: _affine(img, [[1, 0, 0], [0, 1, -v]], fill),
    'Rotate': lambda img, fill, v: rotate(img, v, fill),
}


@TRANSFORMS.register_module()
class BLIPRandomAugment(BaseTransform):
    """unilm / BLIP ``RandomAugment(num_ops, magnitude)`` over BLIP's 10 ops on ``results['img']`` (uint8 HxWxC).

    Args:
        num_ops: Ops drawn per image, with replacement (official N = 2).
        magnitude: Level of every op, out of ``max_level`` (official M = 7).
        ops: Op names, a subset of :data:`BLIP_OPS` (default: all ten, unilm's list).
        prob: Probability of applying each drawn op (official 0.5).
        fill: Border fill of the geometric ops (official grey (128, 128, 128)).
        max_level: Level scale (official 10).
        translate_const: Translation in pixels at ``max_level`` (official 10).
    """

    def __init__(self, num_ops: int = 2, magnitude: float = 7, ops: Optional[Sequence[str]] = None,
                 prob: float = 0.5, fill: Sequence[int] = (128, 128, 128), max_level: float = 10,
                 translate_const: float = 10) -> None:
        self.ops = tuple(ops) if ops is not None else BLIP_OPS
        unknown = [op for op in self.ops if op not in OPS]
        if unknown or not self.ops or num_ops < 0 or not 0 <= prob <= 1 or max_level <= 0:
            raise ValueError(f'BLIPRandomAugment: ops {unknown or self.ops} must be a non-empty subset of '
                             f'{BLIP_OPS}, num_ops {num_ops} >= 0, prob {prob} in [0, 1], max_level {max_level} > 0')
        self.num_ops, self.magnitude, self.prob = num_ops, magnitude, prob
        self.fill, self.max_level, self.translate_const = tuple(int(v) for v in fill), max_level, translate_const

    def op_value(self, name: str) -> Optional[float]:
        """The op's argument at ``magnitude``, with its random sign drawn as the official ``*_level_to_args``."""
        level = self.magnitude / self.max_level
        if name in ('Brightness', 'Sharpness'):
            return level * 1.8 + 0.1
        if name in ('ShearX', 'ShearY', 'TranslateX', 'TranslateY'):
            value = level * (0.3 if name.startswith('Shear') else float(self.translate_const))
            return -value if np.random.random() > 0.5 else value
        if name == 'Rotate':
            return -level * 30 if np.random.random() < 0.5 else level * 30
        return None  # Identity, AutoContrast, Equalize: no argument, no draw

    def apply(self, img: np.ndarray, name: str, value: Optional[float]) -> np.ndarray:
        """One op on a uint8 HxWxC image (``value`` from :meth:`op_value`)."""
        return OPS[name](img, self.fill[:img.shape[2]], value)

    def transform(self, results: dict) -> dict:
        """Draw and apply the ops to ``results['img']``."""
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3:
            raise ValueError(f'BLIPRandomAugment needs a uint8 HxWxC image, got {img.dtype} {img.shape} '
                             f"({results.get('img_path', 'no img_path')})")
        for index in np.random.choice(len(self.ops), self.num_ops):  # with replacement, as the official
            if np.random.random() > self.prob:
                continue
            name = self.ops[index]
            img = self.apply(img, name, self.op_value(name))
        results['img'] = np.ascontiguousarray(img)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_ops={self.num_ops}, magnitude={self.magnitude}, ops={self.ops}, '
                f'prob={self.prob}, fill={self.fill})')
