"""The ``masking`` task: beitmm's BlockwiseMaskGenerator against a plain loop port of unilm's generator.

The reference below is a line-by-line port of microsoft/unilm ``beit2/masking_generator.py`` (per-attempt scalar
random draws, NumPy slice sums, Python loops to mark cells, fix-up to an exact count), kept here for comparison
only: it draws from NumPy's global RNG (as a library transform must, for mmengine seeding) or, like unilm itself,
from Python's ``random``.
"""
import argparse
import math
import random
import statistics
import time

import numpy as np

from beitmm.datasets.transforms.masking import BlockwiseMaskGenerator


class ReferenceLoopGenerator:
    """Plain per-sample loop port of unilm's blockwise masking (exact count).

    Args:
        height: Grid height.
        width: Grid width.
        num_masking_patches: Patches to mask.
        min_num_patches: Minimum block area.
        min_aspect: Minimum aspect ratio (max is its inverse).
        use_numpy_rng: Draw from ``np.random`` instead of Python's ``random``.
    """

    def __init__(self, height: int, width: int, num_masking_patches: int, min_num_patches: int,
                 min_aspect: float, use_numpy_rng: bool) -> None:
        self.height, self.width = height, width
        self.num_masking_patches = num_masking_patches
        self.min_num_patches = min_num_patches
        self.max_num_patches = num_masking_patches
        self.log_aspect_ratio = (math.log(min_aspect), math.log(1 / min_aspect))
        self.uniform = np.random.uniform if use_numpy_rng else random.uniform
        self.randint = (lambda a, b: np.random.randint(a, b + 1)) if use_numpy_rng else random.randint

    def _mask(self, mask: np.ndarray, max_mask_patches: int) -> int:
        delta = 0
        for _ in range(10):
            lo, hi = sorted((self.min_num_patches, max_mask_patches))
            target_area = self.uniform(lo, hi)
            aspect_ratio = math.exp(self.uniform(*self.log_aspect_ratio))
            h = int(round(math.sqrt(target_area * aspect_ratio)))
            w = int(round(math.sqrt(target_area / aspect_ratio)))
            if w < self.width and h < self.height:
                top = self.randint(0, self.height - h)
                left = self.randint(0, self.width - w)
                num_masked = mask[top:top + h, left:left + w].sum()
                if 0 < h * w - num_masked <= max_mask_patches:
                    for i in range(top, top + h):
                        for j in range(left, left + w):
                            if mask[i, j] == 0:
                                mask[i, j] = 1
                                delta += 1
                if delta > 0:
                    break
        return delta

    def __call__(self) -> np.ndarray:
        """Draw one mask with the reference loop.

        Returns:
            Bool array (height, width), True where a patch is masked; exactly ``num_masking_patches`` cells.
        """
        mask = np.zeros((self.height, self.width), dtype=np.int32)
        count = 0
        while count < self.num_masking_patches:
            budget = min(self.num_masking_patches - count, self.max_num_patches)
            delta = self._mask(mask, budget)
            if delta == 0:
                break
            count += delta
        if count < self.num_masking_patches:
            ys, xs = (mask == 0).nonzero()
            pick = np.random.choice(ys.shape[0], self.num_masking_patches - count, replace=False)
            mask[ys[pick], xs[pick]] = 1
        return mask.astype(bool)


def run_masking(args: argparse.Namespace) -> None:
    """Blockwise masks per second: beitmm's pooled transform and single generate() vs unilm's loop.

    Each candidate makes ``--num-masks`` masks per timing, alternating, ``--repeats`` times;
    CPU time of this process (``time.process_time``) is used, so other processes on a shared
    machine do not count. The pooled transform's refills are included (amortised cost).
    """
    np.random.seed(0)
    random.seed(0)
    pooled, single = BlockwiseMaskGenerator(14, 75, 16, pool_size=1024), BlockwiseMaskGenerator(14, 75, 16, pool_size=1)
    ref = ReferenceLoopGenerator(14, 14, 75, 16, 0.3, False)
    cands = {'beitmm transform (pooled, vectorised)': lambda: pooled.transform({})['mask'],
             'beitmm generate() (one mask)': single.generate, 'reference loop (unilm)': ref}
    times = {n: [] for n in cands}
    for r in range(max(args.repeats, 1)):
        for n in (list(cands) if r % 2 == 0 else list(cands)[::-1]):
            start = time.process_time()
            for _ in range(args.num_masks):
                cands[n]()
            times[n].append((time.process_time() - start) / args.num_masks * 1e6)
    us = {n: statistics.median(t) for n, t in times.items()}
    print(f'\nmasking: {args.num_masks} masks x {args.repeats} (14x14 grid, 75 patches, median CPU time)')
    for n, v in us.items():  # and a sanity check of the masking law: count, per-cell frequency at corner / centre
        freq = np.mean([np.asarray(cands[n](), dtype=np.float64) for _ in range(200)], axis=0)
        print(f'  {n:38s} {v:8.1f} us/mask  {1e6 / v:10.0f} masks/s  mean masked {freq.sum():.1f}, '
              f'corner/centre freq {freq[-1, -1]:.3f}/{freq[7, 7]:.3f}')
    print(f'ratio beitmm (pooled) / reference: {us["reference loop (unilm)"] / us[list(us)[0]]:.1f}x')
