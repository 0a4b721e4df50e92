"""Time beitmm's BlockwiseMaskGenerator against plain loop ports of unilm's generator.

Usage::

    python tools/analysis_tools/benchmark_masking.py --num-masks 2000

The references below are line-by-line ports of microsoft/unilm ``beit2/masking_generator.py``
(per-attempt scalar random draws, NumPy slice sums, Python loops to mark cells, fix-up to
an exact count), kept here for comparison only: one draws from NumPy's global RNG (as a
library transform must, for mmengine seeding), the other from Python's ``random`` like
unilm itself.
"""
import os.path as _osp
import sys as _sys

_sys.path.append(_osp.dirname(_osp.dirname(_osp.abspath(__file__))))  # tools/
import argparse
import math
import random
import time
from typing import Callable

import _bootstrap  # noqa: E402,F401  (re-runs this tool with .venv/bin/python where needed)
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


def time_it(fn: Callable[[], np.ndarray], num: int, repeats: int, chunk: int = 100) -> float:
    """Microseconds per call of ``fn``: ``num`` calls timed in chunks, ``repeats`` times.

    The fastest chunk is reported, which filters out interference from other processes
    on a shared machine (the usual ``timeit`` practice).
    """
    best = math.inf
    for _ in range(repeats):
        for _ in range(max(num // chunk, 1)):
            start = time.perf_counter()
            for _ in range(chunk):
                fn()
            best = min(best, time.perf_counter() - start)
    return best / chunk * 1e6


def main() -> None:
    """Time the mask generators and print their speed and a sanity check of their masking law."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-masks', type=int, default=2000)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--input-size', type=int, default=14)
    parser.add_argument('--num-masking-patches', type=int, default=75)
    parser.add_argument('--min-num-patches', type=int, default=16)
    args = parser.parse_args()
    np.random.seed(0)
    random.seed(0)
    size, num, min_num = args.input_size, args.num_masking_patches, args.min_num_patches
    fast = BlockwiseMaskGenerator(size, num, min_num)
    candidates = {
        'beitmm BlockwiseMaskGenerator': fast.generate,
        'reference loop port, np.random': ReferenceLoopGenerator(size, size, num, min_num, 0.3, True),
        'reference loop port, random (unilm)': ReferenceLoopGenerator(size, size, num, min_num, 0.3, False),
    }
    timings = {name: time_it(fn, args.num_masks, args.repeats) for name, fn in candidates.items()}
    base = timings['beitmm BlockwiseMaskGenerator']
    print(f'{args.num_masks} masks x {args.repeats} of {num}/{size * size} patches (fastest 100-mask chunk):')
    for name, us in timings.items():
        print(f'  {name:38s} {us:8.1f} us/mask  ({us / base:5.1f}x beitmm)')
    # sanity: both give exact counts and similar per-cell masking frequencies
    freq = {name: np.mean([fn() for _ in range(args.num_masks)], axis=0) for name, fn in candidates.items()}
    for name, f in freq.items():
        centre = f[size // 2, size // 2]
        print(f'  {name:38s} mean count {f.sum():6.2f}, corner/centre freq {f[-1, -1]:.3f}/{centre:.3f}')


if __name__ == '__main__':
    main()
