"""BlockwiseMaskGenerator.generate_batch (vectorised) has the law of the per-mask generate()."""
import numpy as np
import pytest

from beitmm.datasets.transforms.masking import BlockwiseMaskGenerator


@pytest.mark.parametrize('args', [(14, 75, 16), ((7, 9), 20, 4), (8, 26, 4)])
def test_batch_exact_counts_and_same_cell_frequencies(args):
    gen = BlockwiseMaskGenerator(*args)
    np.random.seed(0)
    loop = np.stack([gen.generate() for _ in range(1500)])
    np.random.seed(1)
    batch = gen.generate_batch(1500)
    assert batch.dtype == bool and batch.shape == loop.shape
    assert np.all(batch.sum((1, 2)) == gen.num_masking_patches)
    # per-cell masking frequency: same law up to sampling noise (std ~0.013 per cell at n=1500)
    assert np.abs(batch.mean(0) - loop.mean(0)).max() < 0.07
    # blockwise, not uniform: masked cells have more masked 4-neighbours than chance
    right = (batch[:, :, 1:] & batch[:, :, :-1]).sum() / batch[:, :, :-1].sum()
    assert right > 0.6


def test_batch_without_exact_fixup_matches_loop_mean():
    gen = BlockwiseMaskGenerator(14, 75, 16, exact=False)
    np.random.seed(0)
    loop = np.array([gen.generate().sum() for _ in range(1500)])
    batch = gen.generate_batch(1500).sum((1, 2))
    assert batch.max() <= 75 and abs(batch.mean() - loop.mean()) < 0.3


def test_pooled_transform_reproducible_and_validated():
    np.random.seed(5)
    a = [BlockwiseMaskGenerator(14, 75, 16, pool_size=8).transform({})['mask'] for _ in range(3)]
    np.random.seed(5)
    b = [BlockwiseMaskGenerator(14, 75, 16, pool_size=8).transform({})['mask'] for _ in range(3)]
    assert all(np.array_equal(x, y) and x.sum() == 75 for x, y in zip(a, b, strict=True))
    gen = BlockwiseMaskGenerator(14, 75, 16, pool_size=4)
    masks = [gen.transform({})['mask'] for _ in range(9)]  # crosses two refills
    assert all(m.shape == (14, 14) and m.sum() == 75 for m in masks)
    assert 'pool_size=4' in repr(gen)
    with pytest.raises(ValueError, match='pool_size'):
        BlockwiseMaskGenerator(pool_size=0)
