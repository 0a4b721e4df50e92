"""Tests for the synthetic data generators and the make_demo_data CLI."""
import hashlib
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from beitmm.testing import synthetic
from beitmm.testing.synthetic import (
    MARKER,
    make_classification_data,
    make_segmentation_data,
    make_unlabeled_data,
    shape_mask,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _digest(root: str) -> dict:
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = hashlib.md5(f.read()).hexdigest()
    return out


def test_classification_layout(imagenet_info):
    root = imagenet_info['root']
    assert imagenet_info['classes'] == ['disc', 'square', 'stripes', 'triangle']  # sorted
    assert (imagenet_info['num_train'], imagenet_info['num_val']) == (24, 12)
    assert sorted(os.listdir(osp.join(root, 'train'))) == imagenet_info['classes']
    with open(osp.join(root, 'meta', 'classes.txt')) as f:
        assert f.read().split('\n')[:-1] == imagenet_info['classes']
    for split, n in (('train', 24), ('val', 12)):
        with open(osp.join(root, 'meta', f'{split}.txt')) as f:
            lines = f.read().splitlines()
        assert len(lines) == n
        for line in lines:
            rel, label = line.rsplit(' ', 1)
            cls = rel.split('/')[0]
            assert int(label) == imagenet_info['classes'].index(cls)
            img = Image.open(osp.join(root, split, rel))  # paths are relative to the split folder
            assert img.format == 'JPEG' and img.mode == 'RGB' and img.size == (32, 32)


def test_segmentation_layout(ade20k_info):
    root = ade20k_info['root']
    assert ade20k_info['classes'] == ['wall', 'building', 'sky', 'floor']
    seen = set()
    for split, prefix, n in (('training', 'ADE_train', 8), ('validation', 'ADE_val', 4)):
        names = sorted(os.listdir(osp.join(root, 'images', split)))
        assert names == [f'{prefix}_{i:08d}.jpg' for i in range(1, n + 1)]
        for name in names:
            img = Image.open(osp.join(root, 'images', split, name))
            ann = Image.open(osp.join(root, 'annotations', split, name[:-4] + '.png'))
            assert img.mode == 'RGB' and ann.mode == 'L' and img.size == ann.size == (64, 64)
            seen |= set(np.unique(np.asarray(ann)).tolist())
    assert seen <= {0, 1, 2, 3, 4} and {1, 2, 3, 4} <= seen


def test_segmentation_labels_match_painted_pixels():
    rng = np.random.default_rng(3)
    img, label = synthetic.render_segmentation_sample(rng, (48, 48), num_classes=4)
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8 and label.shape == (48, 48)
    # shapes are saturated, the background is not: mean saturation separates them
    rgb = img.astype(float)
    sat = (rgb.max(-1) - rgb.min(-1)) / np.maximum(rgb.max(-1), 1)
    assert (label >= 2).sum() > 20
    assert sat[label >= 2].mean() > sat[label == 1].mean() + 0.15


def _class_hues(cue, n=60):
    """Hue (0..1) of the mean colour of each shape class region, over ``n`` generated scenes."""
    import colorsys
    hues = {c: [] for c in (2, 3, 4)}
    for i in range(n):
        img, label = synthetic.render_segmentation_sample(np.random.default_rng(i), (48, 48), 4, cue=cue)
        for c in hues:
            if (label == c).sum() > 30:
                r, g, b = img[label == c].astype(float).mean(0) / 255
                hues[c].append(colorsys.rgb_to_hsv(r, g, b)[0])
    return hues


def test_segmentation_classes_by_shape_not_colour():
    """Default cue 'shape': every class takes colours from the whole hue circle, so colour gives nothing away.

    Cue 'hue': each class keeps its own hue band (the easy variant).
    """
    for c, hs in _class_hues('shape').items():
        assert len(hs) >= 10
        assert len({int(h * 6) for h in hs}) >= 4, f'class {c} hues {sorted(hs)} cover too few sextants'
    bands = _class_hues('hue')
    centres = {c: float(np.angle(np.exp(2j * np.pi * np.array(hs)).mean()) / (2 * np.pi)) % 1
               for c, hs in bands.items()}
    for c, hs in bands.items():
        nearest = [min(centres, key=lambda k: min(abs(h - centres[k]), 1 - abs(h - centres[k]))) for h in hs]
        assert np.mean([k == c for k in nearest]) > 0.9
    with pytest.raises(ValueError, match='cue'):
        synthetic.render_segmentation_sample(np.random.default_rng(0), (32, 32), 4, cue='stripes')


def test_scene_shape_count_and_size():
    """max_shapes bounds the number of shapes; radius sets their size; the defaults keep old scenes."""
    def areas(**kw):
        out = []
        for i in range(30):
            _, label = synthetic.render_segmentation_sample(np.random.default_rng(i), (64, 64), 4, **kw)
            out.append((label >= 2).mean())
        return np.array(out)
    small, big = areas(radius=(0.1, 0.12)), areas(radius=(0.3, 0.35))
    assert small.max() < 0.2 and np.median(big) > 2 * np.median(small)
    one = areas(max_shapes=1, radius=(0.3, 0.3))
    assert one.max() <= 0.35  # one shape of radius 0.3 covers at most ~a third of the image
    img, label = synthetic.render_segmentation_sample(np.random.default_rng(3), (48, 48), 4)
    img2, label2 = synthetic.render_segmentation_sample(np.random.default_rng(3), (48, 48), 4, max_shapes=3,
                                                        radius=(0.18, 0.35))
    assert np.array_equal(img, img2) and np.array_equal(label, label2)
    with pytest.raises(ValueError, match='max_shapes'):
        synthetic.render_segmentation_sample(np.random.default_rng(0), (32, 32), 4, max_shapes=0)


def test_segmentation_classes_by_texture():
    """Cue 'texture': class 2 is filled with one colour, classes 3 and 4 with a two-colour pattern."""
    spread = {c: [] for c in (2, 3, 4)}
    for i in range(40):
        img, label = synthetic.render_segmentation_sample(np.random.default_rng(i), (64, 64), 4, cue='texture')
        for c in spread:
            if (label == c).sum() > 60:
                spread[c].append(img[label == c].astype(float).std(0).mean())
    assert all(len(v) >= 5 for v in spread.values())
    # pixel noise only vs. two colours (medians: two solid shapes of different colours may share an image)
    assert np.median(spread[2]) < 20 < min(np.median(spread[3]), np.median(spread[4]))
    for kind in synthetic.SEG_TEXTURES:
        ink = synthetic.texture_ink(kind, np.random.default_rng(0), 48, 48)
        assert ink.shape == (48, 48) and (kind == 'solid') == (not ink.any())


def test_unlabeled_layout(unlabeled_info):
    root, files = unlabeled_info['root'], unlabeled_info['files']
    assert unlabeled_info['num_images'] == len(files) == 20 and files == sorted(files)
    assert {osp.splitext(f)[1] for f in files} == {'.jpg', '.png', '.JPEG'}
    assert {f.count(os.sep) for f in files} == {0, 1, 2}  # three nesting depths
    assert osp.isfile(osp.join(root, 'README.txt'))
    sizes = {Image.open(osp.join(root, f)).size for f in files}
    assert len(sizes) > 1 and all(32 <= s <= 48 for size in sizes for s in size)
    assert Image.open(osp.join(root, files[1])).format in ('PNG', 'JPEG')


def test_unlabeled_scenes(tmp_path):
    """scene_fraction=1: every image is a segmentation-style scene (checked on the lossless PNGs)."""
    info = make_unlabeled_data(str(tmp_path / 'u'), num_images=8, img_size=32, seed=3, scene_fraction=1.0)
    pngs = [f for f in info['files'] if f.endswith('.png')]
    assert len(pngs) == 2
    for rel in pngs:
        i = int(osp.basename(rel)[4:9])
        rng = np.random.default_rng((3, 4, i))
        h, w = (int(rng.integers(32, 32 * 3 // 2 + 1)) for _ in range(2))
        assert rng.uniform() < 1.0
        expected, _ = synthetic.render_segmentation_sample(rng, (h, w), 1 + len(synthetic.SEG_FAMILIES))
        np.testing.assert_array_equal(np.asarray(Image.open(osp.join(info['root'], rel))), expected)
    plain = make_unlabeled_data(str(tmp_path / 'p'), num_images=8, img_size=32, seed=3)
    assert _digest(plain['root'])[pngs[0]] != _digest(info['root'])[pngs[0]]
    with pytest.raises(ValueError, match='scene_fraction'):
        make_unlabeled_data(str(tmp_path / 'x'), num_images=1, scene_fraction=1.5)


def test_deterministic_and_seeded(tmp_path):
    make_unlabeled_data(str(tmp_path / 'a'), num_images=6, img_size=32, seed=1)
    make_unlabeled_data(str(tmp_path / 'b'), num_images=6, img_size=32, seed=1)
    make_unlabeled_data(str(tmp_path / 'c'), num_images=6, img_size=32, seed=2)
    a, b, c = (_digest(str(tmp_path / k)) for k in 'abc')
    assert a == b
    images = [k for k in a if k.startswith(('img', 'part'))]
    assert len(images) == 6 and all(a[k] != c[k] for k in images)
    make_segmentation_data(str(tmp_path / 's1'), num_train=3, num_val=1, img_size=32, seed=5)
    make_segmentation_data(str(tmp_path / 's2'), num_train=3, num_val=1, img_size=32, seed=5)
    assert _digest(str(tmp_path / 's1')) == _digest(str(tmp_path / 's2'))


def test_overwrite_protection(tmp_path):
    root = str(tmp_path / 'cls')
    make_classification_data(root, num_classes=2, train_per_class=2, val_per_class=1, img_size=32)
    with pytest.raises(FileExistsError, match='overwrite=True'):
        make_classification_data(root, num_classes=2, train_per_class=2, val_per_class=1, img_size=32)
    info = make_classification_data(root, num_classes=3, train_per_class=1, val_per_class=1, img_size=32,
                                    overwrite=True)
    assert sorted(os.listdir(osp.join(root, 'train'))) == info['classes'] and info['num_train'] == 3
    assert osp.isfile(osp.join(root, MARKER))
    foreign = tmp_path / 'real_data'
    foreign.mkdir()
    (foreign / 'keep.jpg').write_bytes(b'x')
    with pytest.raises(FileExistsError, match='refusing to delete'):
        make_unlabeled_data(str(foreign), num_images=1, overwrite=True)
    assert (foreign / 'keep.jpg').exists()


@pytest.mark.parametrize('num_classes', [0, len(synthetic.SHAPE_FAMILIES) + 1])
def test_bad_class_counts(tmp_path, num_classes):
    with pytest.raises(ValueError, match='num_classes must be in'):
        make_classification_data(str(tmp_path / 'x'), num_classes=num_classes)
    with pytest.raises(ValueError, match='num_classes must be in'):
        make_segmentation_data(str(tmp_path / 'y'), num_classes=1)


def test_shape_mask_areas():
    r = 20.0
    disc = shape_mask('disc', 64, 64, (32, 32), r, 0.0)
    assert abs(disc.sum() - np.pi * r * r) / (np.pi * r * r) < 0.03
    tri = shape_mask('triangle', 64, 64, (32, 32), r, 0.3)
    assert abs(tri.sum() - 3 * np.sqrt(3) / 4 * r * r) / (3 * np.sqrt(3) / 4 * r * r) < 0.05
    square = shape_mask('square', 64, 64, (32, 32), r, np.pi / 4)
    assert abs(square.sum() - (1.6 * r) ** 2) / (1.6 * r) ** 2 < 0.05
    ring = shape_mask('ring', 64, 64, (32, 32), r, 0.0)
    assert not ring[32, 32] and ring[32, 32 + 16]
    stripes = shape_mask('stripes', 64, 64, (32, 32), r, 0.0)
    rows = stripes.any(1)
    assert 0.3 < rows[16:48].mean() < 0.7  # alternating horizontal bands
    with pytest.raises(ValueError, match="Unknown shape kind 'hexagon'"):
        shape_mask('hexagon', 8, 8, (4, 4), 2.0, 0.0)


def test_make_demo_data_cli(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'make_demo_data', osp.join(REPO, 'tools', 'misc', 'make_demo_data.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = str(tmp_path / 'demo')
    cli.main(['--out', out, '--img-size', '32', '--num-classes', '2', '--train-per-class', '3',
              '--val-per-class', '1', '--ade-train', '2', '--ade-val', '1', '--unlabeled', '5',
              '--pretrain-pairs', '4', '--pretrain-images', '2', '--pretrain-texts', '3', '--pretrain-shards', '2'])
    printed = capsys.readouterr().out
    assert 'imagenet : 6 train + 2 val images, 2 classes' in printed
    assert 'ade20k   : 2 train + 1 val images' in printed and 'unlabeled: 5 images' in printed
    assert 'pretrain : 4 pairs (2 shards), 2 images, 3 texts' in printed
    assert len(os.listdir(osp.join(out, 'imagenet', 'train', 'disc'))) == 3
    assert len(os.listdir(osp.join(out, 'ade', 'ADEChallengeData2016', 'annotations', 'training'))) == 2
    cli.main(['--out', out, '--only', 'unlabeled', '--unlabeled', '2', '--overwrite'])
    assert len([f for f in os.listdir(osp.join(out, 'unlabeled')) if f.startswith('img')]) == 1
