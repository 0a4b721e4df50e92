"""beitmm.BLIPRandomAugment against a transcription of unilm ``beit3/randaug.py`` (BLIP's ``RandomAugment``).

The reference functions below re-state the official ops (file:line cited) in the official way (cv2.split /
calcHist, uint8 scalars, the level-to-argument tables); the transform is compared op by op at the recipe's
magnitude 7 with both signs, and whole draws under the same numpy seed.
"""
import cv2
import numpy as np
import pytest
from mmengine.config import Config

from beitmm.datasets.transforms.blip_randaug import BLIP_OPS, BLIPRandomAugment
from beitmm.registry import TRANSFORMS
from beitmm.testing.shrink import config_path

FILL = (128, 128, 128)  # randaug.py:287


def ref_autocontrast(img):  # randaug.py:10-40 (cutoff 0): min / max are uint8 scalars, -low wraps
    def channel(ch):
        high, low = ch.max(), ch.min()
        if high <= low:
            return ch
        scale = 255 / (high - low)
        with np.errstate(over='ignore'):
            offset = -low * scale
        table = np.arange(256) * scale + offset
        return table.clip(0, 255).astype(np.uint8)[ch]
    return cv2.merge([channel(ch) for ch in cv2.split(img)])


def ref_equalize(img):  # randaug.py:43-63
    def channel(ch):
        hist = cv2.calcHist([ch], [0], None, [256], [0, 256])
        step = np.sum(hist[hist != 0].reshape(-1)[:-1]) // 255
        if step == 0:
            return ch
        n = np.empty_like(hist)
        n[0] = step // 2
        n[1:] = hist[:-1]
        return (np.cumsum(n) // step).clip(0, 255).astype(np.uint8)[ch]
    return cv2.merge([channel(ch) for ch in cv2.split(img)])


def ref_brightness(img, factor):  # randaug.py:122-128
    return (np.arange(256, dtype=np.float32) * factor).clip(0, 255).astype(np.uint8)[img]


def ref_sharpness(img, factor):  # randaug.py:131-149
    kernel = np.ones((3, 3), dtype=np.float32)
    kernel[1][1] = 5
    degenerate = cv2.filter2D(img, -1, kernel / 13)
    out = img.astype(np.float32)
    d = degenerate.astype(np.float32)[1:-1, 1:-1, :]
    out[1:-1, 1:-1, :] = d + factor * (out[1:-1, 1:-1, :] - d)
    return out.astype(np.uint8)


def ref_affine(img, m):  # randaug.py:152-191: shear / translate with a float32 matrix, bilinear, grey border
    h, w = img.shape[:2]
    return cv2.warpAffine(img, np.float32(m), (w, h), borderValue=FILL, flags=cv2.INTER_LINEAR).astype(np.uint8)


def ref_rotate(img, degree):  # randaug.py:66-74
    h, w = img.shape[:2]
    return cv2.warpAffine(img, cv2.getRotationMatrix2D((w / 2, h / 2), degree, 1), (w, h), borderValue=FILL)


def ref_op(img, name, level, sign_draw):
    """Apply op ``name`` at ``level`` with the argument tables of randaug.py:208-266 (sign_draw: the random draw)."""
    m = level / 10
    if name == 'Identity':
        return img
    if name == 'AutoContrast':
        return ref_autocontrast(img)
    if name == 'Equalize':
        return ref_equalize(img)
    if name in ('Brightness', 'Sharpness'):
        f = m * 1.8 + 0.1  # enhance_level_to_args
        return ref_brightness(img, f) if name == 'Brightness' else ref_sharpness(img, f)
    if name == 'Rotate':
        return ref_rotate(img, -m * 30 if sign_draw < 0.5 else m * 30)  # rotate: negative below 0.5
    v = m * 0.3 if name.startswith('Shear') else m * 10.0  # translate_const 10 pixels
    v = -v if sign_draw > 0.5 else v  # shear / translate: negative above 0.5
    return ref_affine(img, {'ShearX': [[1, v, 0], [0, 1, 0]], 'ShearY': [[1, 0, 0], [v, 1, 0]],
                            'TranslateX': [[1, 0, -v], [0, 1, 0]], 'TranslateY': [[1, 0, 0], [0, 1, -v]]}[name])


def ref_random_augment(img, n=2, level=7, augs=BLIP_OPS):
    """randaug.py:321-335: N names with replacement, each applied when its draw is <= 0.5, then its sign draw."""
    for name in np.random.choice(list(augs), n):
        if np.random.random() > 0.5:
            continue
        sign = np.random.random() if name in ('Rotate', 'ShearX', 'ShearY', 'TranslateX', 'TranslateY') else None
        img = ref_op(img, name, level, sign)
    return img


def _images():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (14, 11, 3), dtype=np.uint8)  # full range: AutoContrast stretches nothing
    lifted = rng.integers(30, 200, (14, 11, 3), dtype=np.uint8)
    lifted[..., 1].flat[5] = 0  # channel 1 reaches 0 (stretched), channels 0 and 2 start above 0 (wrap to 255)
    flat = np.full((6, 5, 3), 77, np.uint8)  # constant: AutoContrast and Equalize leave it
    return [img, lifted, flat]


@pytest.mark.parametrize('name', BLIP_OPS)
@pytest.mark.parametrize('sign_draw', [0.2, 0.8])
def test_each_op_equals_the_official_at_magnitude_7(name, sign_draw, monkeypatch):
    aug = BLIPRandomAugment()
    monkeypatch.setattr(np.random, 'random', lambda: sign_draw)
    for img in _images():
        got = aug.apply(img, name, aug.op_value(name))
        want = ref_op(img, name, 7, sign_draw)
        np.testing.assert_array_equal(got, want, err_msg=name)
        assert got.dtype == np.uint8 and got.shape == img.shape


def test_official_quirks_are_kept():
    """AutoContrast whitens a channel whose minimum is above 0; Sharpness wraps instead of clipping."""
    lifted = _images()[1]
    out = BLIPRandomAugment().apply(lifted, 'AutoContrast', None)
    assert (out[..., 0] == 255).all() and (out[..., 2] == 255).all()
    assert out[..., 1].min() == 0 and out[..., 1].max() == 255
    edge = np.zeros((5, 5, 3), np.uint8)
    edge[2, 2] = 250  # the blend overshoots 255 at the centre: 250 + 0.36 * (250 - 96) = 305.44 -> 305 % 256
    assert BLIPRandomAugment().apply(edge, 'Sharpness', 1.36)[2, 2, 0] == 305 % 256


def test_magnitudes_and_signs():
    aug = BLIPRandomAugment()
    assert aug.op_value('Brightness') == pytest.approx(1.36) and aug.op_value('Identity') is None
    values = {n: {round(aug.op_value(n), 6) for _ in range(200)} for n in ('ShearX', 'TranslateY', 'Rotate')}
    assert values == {'ShearX': {0.21, -0.21}, 'TranslateY': {7.0, -7.0}, 'Rotate': {21.0, -21.0}}


@pytest.mark.parametrize('seed', range(40))
def test_whole_draw_equals_the_official_under_the_same_seed(seed):
    img = _images()[seed % 2]
    np.random.seed(seed)
    want = ref_random_augment(img.copy())
    np.random.seed(seed)
    got = BLIPRandomAugment()(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(got, want)


def test_sampling_rule_counts():
    """Two draws with replacement, each applied with probability 0.5: on average 1 op per image, all 10 used."""
    aug, applied = BLIPRandomAugment(), []
    aug.apply = lambda img, name, value: applied.append(name) or img
    np.random.seed(0)
    for _ in range(4000):
        aug(dict(img=np.zeros((4, 4, 3), np.uint8)))
    assert len(applied) / 4000 == pytest.approx(1.0, abs=0.05)
    counts = np.array([applied.count(n) for n in BLIP_OPS]) / len(applied)
    np.testing.assert_allclose(counts, 0.1, atol=0.02)


def test_config_and_errors():
    assert BLIP_OPS == ('Identity', 'AutoContrast', 'Equalize', 'Brightness', 'Sharpness', 'ShearX', 'ShearY',
                        'TranslateX', 'TranslateY', 'Rotate')  # unilm beit3/datasets.py:751-752
    step = Config.fromfile(config_path('_base_/datasets/vl_common.py')).train_pipeline_randaug
    aug = TRANSFORMS.build(step)
    assert isinstance(aug, BLIPRandomAugment) and (aug.num_ops, aug.magnitude, aug.ops) == (2, 7, BLIP_OPS)
    with pytest.raises(ValueError, match='Invert'):
        BLIPRandomAugment(ops=['Invert'])
    with pytest.raises(ValueError, match='uint8 HxWxC'):
        aug(dict(img=np.zeros((4, 4), np.uint8), img_path='x.jpg'))


def _types(steps) -> list:
    return [t for s in steps for t in [s['type']] + _types(s.get('transforms', []))]


@pytest.mark.parametrize('name,randaug', [
    ('beit3/beit3-b_vqav2.py', True), ('beit3/beit3-b_coco-captioning.py', True),  # --randaug: vqav2.md:57, ...
    ('beit3/beit3-b_nocaps-captioning.py', True),  # captioning.md:76
    ('beit3/beit3-b_nlvr2.py', False), ('beit3/beit3-b_coco-retrieval.py', False),  # no --randaug: nlvr2.md:45-91,
    ('beit3/beit3-b_flickr30k-retrieval.py', False), ('beit3/beit3-l_flickr30k-retrieval.py', False)])  # retrieval.md
def test_randaug_only_where_unilm_passes_it(name, randaug):
    types = _types(Config.fromfile(config_path(name)).train_dataloader.dataset.pipeline)
    assert ('beitmm.BLIPRandomAugment' in types) == randaug and 'RandAugment' not in types, types
