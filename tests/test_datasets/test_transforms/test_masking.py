"""Tests of the blockwise and random mask generators."""

import numpy as np
import pytest
from scipy import ndimage

from beitmm.datasets.transforms import BlockwiseMaskGenerator, RandomMaskGenerator
from beitmm.registry import TRANSFORMS


@pytest.mark.parametrize('size,num,min_num', [(14, 75, 16), ((7, 9), 25, 4), (4, 9, 4), (4, 16, 4), (14, 1, 16)])
def test_exact_count(size, num, min_num):
    gen = BlockwiseMaskGenerator(size, num, min_num)
    shape = (size, size) if isinstance(size, int) else size
    for seed in range(200):
        np.random.seed(seed)
        mask = gen.generate()
        assert mask.dtype == bool and mask.shape == shape
        assert mask.sum() == num


def test_transform_output_key_and_registry():
    gen = TRANSFORMS.build(dict(type='beitmm.BlockwiseMaskGenerator', input_size=14, num_masking_patches=75))
    results = gen(dict(img=np.zeros((4, 4, 3), np.uint8)))
    assert results['mask'].shape == (14, 14) and results['mask'].sum() == 75
    assert 'input_size=(14, 14)' in repr(gen)


@pytest.mark.parametrize('size', [14, (7, 9)])
def test_every_position_can_be_masked(size):
    """Inclusive bounds: the last row and column are reachable by blocks (exact=False: no fill-up)."""
    gen = BlockwiseMaskGenerator(size, num_masking_patches=20, min_num_patches=4, exact=False)
    np.random.seed(0)
    freq = np.mean([gen.generate() for _ in range(3000)], axis=0)
    assert freq.min() > 0
    assert freq[-1].max() > 0 and freq[:, -1].max() > 0 and freq[-1, -1] > 0


def test_single_block_shape():
    """Min = max = num and a fixed aspect give exactly one h x w block."""
    np.random.seed(0)
    for aspect, (h, w) in ((1.0, (3, 3)), (4.0, (8, 2)), (0.25, (2, 8))):
        area = h * w
        gen = BlockwiseMaskGenerator(14, area, area, area, min_aspect=aspect, max_aspect=aspect, exact=False)
        for _ in range(50):
            mask = gen.generate()
            labels, n = ndimage.label(mask)
            assert n == 1 and mask.sum() == area
            rows, cols = np.nonzero(mask)
            assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (h, w)


def test_blocks_never_span_full_height_or_width():
    # a 4x1 block on a 4x4 grid would span the full height: unilm rejects it every time
    gen = BlockwiseMaskGenerator(4, 4, 4, 4, min_aspect=4.0, max_aspect=4.0, exact=False)
    np.random.seed(0)
    assert all(gen.generate().sum() == 0 for _ in range(20))
    # with exact=True the count is restored by random cells
    np.random.seed(0)
    assert BlockwiseMaskGenerator(4, 4, 4, 4, min_aspect=4.0, max_aspect=4.0).generate().sum() == 4
    # a 3x1 block fits (3 < 4) and may touch the last row
    gen = BlockwiseMaskGenerator(4, 3, 3, 3, min_aspect=3.0, max_aspect=3.0, exact=False)
    masks = np.stack([gen.generate() for _ in range(100)])
    assert (masks.sum(axis=(1, 2)) == 3).all() and masks[:, -1].any()


def test_budget_below_min_block():
    """Budget 5 < min 16: the area range is ordered (unilm's reversed uniform)."""
    gen = BlockwiseMaskGenerator(14, num_masking_patches=5, min_num_patches=16, exact=False)
    np.random.seed(0)
    counts = [gen.generate().sum() for _ in range(300)]
    assert max(counts) == 5 and min(counts) >= 0
    assert 0.25 < np.mean(np.array(counts) > 0) < 0.5  # ~37% as with unilm's code: small blocks are drawn


def test_matches_reference_port_distribution():
    """Same law as the plain port of unilm's code kept in the masking benchmark."""
    from tools.benchmarks.masking import ReferenceLoopGenerator
    ref = ReferenceLoopGenerator(14, 14, 75, 16, 0.3, use_numpy_rng=True)
    np.random.seed(0)
    ours = np.stack([BlockwiseMaskGenerator().generate() for _ in range(1500)])
    theirs = np.stack([ref() for _ in range(1500)])
    border = np.ones((14, 14), bool)
    border[1:-1, 1:-1] = False
    for masks in (ours, theirs):
        assert (masks.sum(axis=(1, 2)) == 75).all()
    assert abs(ours[:, border].mean() - theirs[:, border].mean()) < 0.02
    assert abs(ours[:, ~border].mean() - theirs[:, ~border].mean()) < 0.02
    n_ours = np.mean([ndimage.label(m)[1] for m in ours])
    n_theirs = np.mean([ndimage.label(m)[1] for m in theirs])
    assert abs(n_ours - n_theirs) < 0.1 * n_theirs


def test_reproducible_with_numpy_seed():
    gen = BlockwiseMaskGenerator()
    np.random.seed(123)
    first = [gen.generate() for _ in range(5)]
    np.random.seed(123)
    second = [BlockwiseMaskGenerator().generate() for _ in range(5)]
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not all(np.array_equal(first[0], m) for m in first[1:])


def test_mean_masking_frequency_is_blockwise():
    """Blocks make neighbours correlated: P(neighbour masked | masked) >> 75/196."""
    gen = BlockwiseMaskGenerator()
    np.random.seed(0)
    masks = np.stack([gen.generate() for _ in range(500)])
    both = (masks[:, :, 1:] & masks[:, :, :-1]).sum()
    assert both / masks[:, :, :-1].sum() > 0.6


@pytest.mark.parametrize('kwargs,message', [
    (dict(num_masking_patches=197), r'\[1, 196\]'),
    (dict(num_masking_patches=0), 'num_masking_patches'),
    (dict(min_aspect=0), 'min_aspect'),
    (dict(min_aspect=0.5, max_aspect=0.4), 'max_aspect'),
    (dict(min_num_patches=0), 'min_num_patches'),
    (dict(input_size=(14, 0)), 'input_size'),
])
def test_blockwise_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BlockwiseMaskGenerator(**kwargs)


def test_random_mask_generator():
    gen = RandomMaskGenerator((7, 9), mask_ratio=0.4)
    np.random.seed(0)
    masks = [gen(dict())['mask'] for _ in range(200)]
    assert all(m.shape == (7, 9) and m.dtype == bool and m.sum() == round(0.4 * 63) for m in masks)
    assert np.mean(masks, axis=0).min() > 0
    np.random.seed(0)
    assert np.array_equal(RandomMaskGenerator((7, 9), 0.4).generate(), masks[0])
    with pytest.raises(ValueError, match='mask_ratio'):
        RandomMaskGenerator(14, 0.0)
    with pytest.raises(ValueError, match='masks no patch'):
        RandomMaskGenerator(2, 0.1)
