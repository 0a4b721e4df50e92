"""Tests of the two-view random-resized crop."""
import numpy as np
import pytest

from beitmm.datasets.transforms import TwoViewRandomResizedCrop
from beitmm.registry import TRANSFORMS


def _gradient(h: int = 96, w: int = 128) -> np.ndarray:
    """uint8 HWC image: channel 0 grows with x, channel 1 with y, channel 2 constant."""
    ys, xs = np.mgrid[0:h, 0:w]
    return np.stack([xs * 255 // (w - 1), ys * 255 // (h - 1), np.full_like(xs, 128)], -1).astype(np.uint8)


def test_two_views_come_from_one_crop():
    crop = TwoViewRandomResizedCrop(size=32, second_size=16, scale=(0.3, 1.0))
    np.random.seed(0)
    for _ in range(20):
        out = crop(dict(img=_gradient()))
        img, tok = out['img'], out['img_tokenizer']
        assert img.shape == (32, 32, 3) and tok.shape == (16, 16, 3) and img.dtype == np.uint8
        assert out['img_shape'] == (32, 32)
        pooled = img.astype(float).reshape(16, 2, 16, 2, 3).mean(axis=(1, 3))  # 2x2 average -> 16x16
        assert np.abs(pooled - tok).max() <= 6  # same region: smooth gradient agrees everywhere
        x1, y1, x2, y2 = out['crop_bbox']
        # the gradient encodes coordinates: the view's left/right columns match the box
        assert abs(img[:, 0, 0].mean() - x1 * 255 / 127) < 8
        assert abs(img[:, -1, 0].mean() - (x2 - 1) * 255 / 127) < 8
        assert abs(img[0, :, 1].mean() - y1 * 255 / 95) < 8


def test_bounds_are_inclusive(monkeypatch):
    """The largest drawn position puts the crop flush with the last row and column."""
    monkeypatch.setattr(np.random, 'uniform', lambda low, high: low)  # smallest area, ratio 3/4
    monkeypatch.setattr(np.random, 'randint', lambda low, high: high - 1)  # largest allowed position
    img = np.zeros((96, 128, 3), np.uint8)
    img[-1, :] = img[:, -1] = 255  # mark the last row and column
    # area 0.25 * 96 * 128 at ratio 3/4 gives a 64 x 48 crop; output size = crop size (no resampling)
    out = TwoViewRandomResizedCrop(size=(64, 48), second_size=8, scale=(0.25, 0.25))(dict(img=img))
    assert out['crop_bbox'].tolist() == [80, 32, 128, 96]
    assert (out['img'][-1] == 255).all() and (out['img'][:, -1] == 255).all()
    assert (out['img'][:-1, :-1] == 0).all()
    top, left, h, w = TwoViewRandomResizedCrop.get_params(96, 128, (0.25, 0.25), (0.75, 0.75))
    assert (top + h, left + w) == (96, 128)


def test_sizes_second_view_options_and_reproducibility():
    np.random.seed(3)
    a = TwoViewRandomResizedCrop((24, 40), second_size=None)(dict(img=_gradient()))
    assert a['img'].shape == (24, 40, 3) and 'img_tokenizer' not in a and a['img_shape'] == (24, 40)
    v2 = TRANSFORMS.build(dict(type='beitmm.TwoViewRandomResizedCrop', size=32, second_size=32,
                               second_interpolation='bicubic', scale=(0.2, 1.0)))
    np.random.seed(3)
    b = v2(dict(img=_gradient()))
    assert np.array_equal(b['img'], b['img_tokenizer']) and b['img_tokenizer'] is not b['img']
    np.random.seed(3)
    c = v2(dict(img=_gradient()))
    assert np.array_equal(b['img'], c['img']) and np.array_equal(b['crop_bbox'], c['crop_bbox'])
    pil = TwoViewRandomResizedCrop(16, 8, backend='pillow')(dict(img=_gradient()))
    assert pil['img'].shape == (16, 16, 3) and pil['img_tokenizer'].shape == (8, 8, 3)


def test_fallback_centre_crop(monkeypatch):
    monkeypatch.setattr(np.random, 'uniform', lambda low, high: high)  # area 1.0 at ratio 4/3 never fits
    top, left, h, w = TwoViewRandomResizedCrop.get_params(100, 10, (1.0, 1.0), (0.75, 4 / 3))
    assert (h, w) == (13, 10) and (top, left) == (43, 0)  # image far too tall: clipped to ratio 3/4


@pytest.mark.parametrize('kwargs,message', [
    (dict(size=0), 'size'),
    (dict(scale=(0.5, 0.1)), 'scale'),
    (dict(ratio=(0, 1)), 'ratio'),
    (dict(interpolation='area', backend='pillow'), 'not supported'),
    (dict(backend='turbojpeg'), 'backend'),
])
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TwoViewRandomResizedCrop(**kwargs)
