"""Patch-mask generators for masked image modeling.

:class:`BlockwiseMaskGenerator` is BEiT's blockwise masking (microsoft/unilm
``beit/masking_generator.py``, MIT licence) with unilm's inclusive block positions, so
the last patch row and column can be masked (mmpretrain's ``BEiTMaskGenerator`` draws
them with an exclusive bound and never masks them), plus beit2's fix-up to an exact
count. Randomness comes from NumPy's global RNG, which mmengine seeds per process and
per dataloader worker, so masks are reproducible under ``randomness=dict(seed=...)``.
"""
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from beitmm.registry import TRANSFORMS

_ATTEMPTS = 10  # tries per block, as in unilm
_POOL = 96  # uniform numbers drawn per np.random call (>= 4 * _ATTEMPTS)
_popcount = getattr(int, 'bit_count', lambda x: bin(x).count('1'))  # int.bit_count needs Python >= 3.10


def _to_hw(input_size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """Validate a patch-grid size given as ``int`` or ``(H, W)``."""
    if isinstance(input_size, (int, np.integer)):
        input_size = (input_size, input_size)
    if len(input_size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in input_size):
        raise ValueError(f'input_size must be a positive int or a pair (H, W) of them, got {input_size!r}')
    return int(input_size[0]), int(input_size[1])


@TRANSFORMS.register_module()
class BlockwiseMaskGenerator(BaseTransform):
    """BEiT blockwise masking: rectangles of random area and aspect ratio.

    Blocks are added while fewer than ``num_masking_patches`` patches are masked. Each
    block gets up to 10 attempts: area ~ U(min_num_patches, budget) (bounds ordered
    when budget < min_num_patches), aspect ~ log-U(min_aspect, max_aspect),
    ``h = round(sqrt(area * aspect))``, ``w = round(sqrt(area / aspect))``; it needs
    ``h < H`` and ``w < W``, top ~ U{0..H-h}, left ~ U{0..W-w} (inclusive), and is
    accepted when it masks between 1 and ``budget`` new patches, where budget =
    min(remaining, max_num_patches). Blocking stops when a block adds nothing; with
    ``exact=True`` (beit2) a uniformly random subset of the unmasked patches then fills
    the remainder (same law as beit2's ``np.random.choice`` fix-up).

    Added keys: ``mask`` (np.ndarray of bool, shape (H, W); True = masked).

    Args:
        input_size: Patch grid (H, W). Defaults to 14.
        num_masking_patches: Patches to mask. Defaults to 75.
        min_num_patches: Minimum block area. Defaults to 16.
        max_num_patches: Maximum block area; None means
            ``num_masking_patches``. Defaults to None.
        min_aspect: Minimum block aspect ratio h / w. Defaults to 0.3.
        max_aspect: Maximum aspect; None means ``1 / min_aspect``.
            Defaults to None.
        exact: Always mask exactly ``num_masking_patches`` (beit2). False keeps
            BEiT v1's behaviour, which may mask fewer. Defaults to True.
        pool_size: The transform draws this many masks at once with the vectorised
            :meth:`generate_batch` and hands them out one per sample (same law; ~10x cheaper
            per mask than unilm's loop at 1024, less for small pools). 1 calls
            :meth:`generate` per sample. Defaults to 1: a pool is per-worker state that no
            checkpoint holds, so pooled masks depend on the worker count and break exact resume.
    """

    def __init__(self, input_size: Union[int, Sequence[int]] = 14, num_masking_patches: int = 75,
                 min_num_patches: int = 16, max_num_patches: Optional[int] = None, min_aspect: float = 0.3,
                 max_aspect: Optional[float] = None, exact: bool = True, pool_size: int = 1) -> None:
        self.height, self.width = _to_hw(input_size)
        num_patches = self.height * self.width
        if not 0 < num_masking_patches <= num_patches:
            raise ValueError(f'num_masking_patches must be in [1, {num_patches}] for a {self.height}x{self.width} '
                             f'grid, got {num_masking_patches}')
        max_num_patches = num_masking_patches if max_num_patches is None else max_num_patches
        if min_num_patches < 1 or max_num_patches < 1:
            raise ValueError(f'min_num_patches and max_num_patches must be >= 1, got {min_num_patches}, '
                             f'{max_num_patches}')
        if min_aspect <= 0:
            raise ValueError(f'min_aspect must be > 0, got {min_aspect}')
        max_aspect = 1 / min_aspect if max_aspect is None else max_aspect
        if max_aspect < min_aspect:
            raise ValueError(f'max_aspect ({max_aspect}) must be >= min_aspect ({min_aspect})')
        self.num_masking_patches = int(num_masking_patches)
        self.min_num_patches = int(min_num_patches)
        self.max_num_patches = int(max_num_patches)
        self.min_aspect, self.max_aspect = float(min_aspect), float(max_aspect)
        self.exact = exact
        if pool_size < 1:
            raise ValueError(f'pool_size must be >= 1, got {pool_size}')
        self.pool_size = int(pool_size)
        self._pool: list = []
        self._log_aspect = (math.log(self.min_aspect), math.log(self.max_aspect))
        # _row_repeat[h]: bit 0 of each of h consecutive rows, to stamp a run on h rows
        self._row_repeat = [sum(1 << (i * self.width) for i in range(h)) for h in range(self.height + 1)]

    def generate(self) -> np.ndarray:
        """Draw one mask.

        The mask is built as one Python int (bit ``i * W + j`` = cell (i, j)), so testing
        and stamping a block are O(1) integer operations, and the uniform numbers are
        drawn from ``np.random`` in batches rather than one call per number.

        Returns:
            np.ndarray: Bool array of shape (H, W), True where a patch is masked.
        """
        H, W, num = self.height, self.width, self.num_masking_patches
        min_num, max_num = self.min_num_patches, self.max_num_patches
        log_lo, log_span = self._log_aspect[0], self._log_aspect[1] - self._log_aspect[0]
        sqrt, exp, row_repeat = math.sqrt, math.exp, self._row_repeat
        rand, pos = np.random.random_sample(_POOL).tolist(), 0
        bits = count = 0
        while count < num:
            if pos + 4 * _ATTEMPTS > len(rand):  # keep numbers for all attempts of this block
                rand, pos = rand[pos:] + np.random.random_sample(_POOL).tolist(), 0
            budget = min(num - count, max_num)
            # unilm's uniform(min, budget) has reversed bounds when budget < min: same law
            lo, hi = (min_num, budget) if min_num <= budget else (budget, min_num)
            added, start = 0, pos
            for pos in range(start, start + 4 * _ATTEMPTS, 4):  # one attempt uses rand[pos:pos + 4]
                area = lo + (hi - lo) * rand[pos]
                aspect = exp(log_lo + log_span * rand[pos + 1])
                h, w = round(sqrt(area * aspect)), round(sqrt(area / aspect))
                if h >= H or w >= W or h * w - count > budget:  # too large, or surely > budget new cells
                    continue
                top = int(rand[pos + 2] * (H - h + 1))  # inclusive bounds: 0..H-h, 0..W-w
                left = int(rand[pos + 3] * (W - w + 1))
                # the block as a bit mask: a run of w bits repeated on h consecutive rows
                rect = (((1 << w) - 1) << (top * W + left)) * row_repeat[h]
                new = h * w - _popcount(bits & rect)
                if 0 < new <= budget:
                    bits, added = bits | rect, new
                    break
            pos += 4
            if added == 0:
                break
            count += added
        if self.exact:  # beit2 fix-up: mask uniformly random free cells until exact
            num_cells = H * W
            while count < num:
                if pos == len(rand):
                    rand, pos = np.random.random_sample(_POOL).tolist(), 0
                cell = 1 << int(rand[pos] * num_cells)
                pos += 1
                if not bits & cell:
                    bits |= cell
                    count += 1
        packed = np.frombuffer(bits.to_bytes((H * W + 7) // 8, 'little'), np.uint8)
        return np.unpackbits(packed, count=H * W, bitorder='little').view(bool).reshape(H, W)

    def generate_batch(self, n: int) -> np.ndarray:
        """Draw ``n`` independent masks at once, with the law of :meth:`generate`.

        All masks run the block loop in lockstep. A mask is one uint64 bit row per grid row;
        each round draws the 10 attempts of every still-active mask as arrays, counts the
        already-masked cells of each candidate rectangle with ``np.bitwise_count`` and stamps the
        first accepted attempt; masks without an accepted attempt leave the loop.
        Falls back to a loop of :meth:`generate` for grids wider than 64 or NumPy < 2.0.

        Returns:
            np.ndarray: Bool array (n, H, W).
        """
        H, W, num = self.height, self.width, self.num_masking_patches
        if W > 64 or not hasattr(np, 'bitwise_count'):
            return np.stack([self.generate() for _ in range(n)]) if n else np.zeros((0, H, W), bool)
        bits = np.zeros((n, H), dtype=np.uint64)  # bit j of row i = cell (i, j)
        count = np.zeros(n, dtype=np.int64)
        active = np.arange(n)
        log_lo, log_span = self._log_aspect[0], self._log_aspect[1] - self._log_aspect[0]
        rows = np.arange(H)
        one = np.uint64(1)
        while active.size:
            budget = np.minimum(num - count[active], self.max_num_patches)[:, None]  # [m, 1]
            lo, hi = np.minimum(budget, self.min_num_patches), np.maximum(budget, self.min_num_patches)
            r = np.random.random_sample((4, active.size, _ATTEMPTS))  # [4, m, attempts]
            area = lo + (hi - lo) * r[0]
            aspect = np.exp(log_lo + log_span * r[1])
            h = np.rint(np.sqrt(area * aspect)).astype(np.int64)  # round half to even, as round()
            w = np.rint(np.sqrt(area / aspect)).astype(np.int64)
            fits = (h < H) & (w < W)
            h, w = np.minimum(h, H - 1), np.minimum(w, W - 1)
            top = (r[2] * (H - h + 1)).astype(np.int64)
            left = (r[3] * (W - w + 1)).astype(np.uint64)
            run = ((one << w.astype(np.uint64)) - one) << left  # [m, attempts] bits of one rect row
            in_rows = (rows >= top[..., None]) & (rows < (top + h)[..., None])  # [m, attempts, H]
            rect = np.where(in_rows, run[..., None], np.uint64(0))  # [m, attempts, H]
            inside = np.bitwise_count(bits[active][:, None] & rect).sum(-1, dtype=np.int64)
            new = h * w - inside  # [m, attempts]
            ok = fits & (new > 0) & (new <= budget)
            hit = ok.any(1)
            k = ok.argmax(1)[hit]
            sel = active[hit]
            bits[sel] |= rect[hit, k]
            count[sel] += new[hit, k]
            active = sel[count[sel] < num]
        masks = ((bits[..., None] >> np.arange(W, dtype=np.uint64)) & one).astype(bool)  # [n, H, W]
        short = np.flatnonzero(count < num)
        if self.exact and short.size:  # uniformly random subset of the free cells
            flat = masks[short].reshape(short.size, H * W)
            order = np.argsort(np.random.random_sample(flat.shape) + flat, axis=1)  # masked cells sort last
            add = np.zeros_like(flat)
            np.put_along_axis(add, order, np.arange(H * W)[None] < (num - count[short])[:, None], axis=1)
            masks[short] |= add.reshape(-1, H, W)
        return masks

    def transform(self, results: dict) -> dict:
        """Add ``results['mask']`` (bool, (H, W))."""
        if self.pool_size == 1:
            results['mask'] = self.generate()
            return results
        if not self._pool:
            self._pool = list(self.generate_batch(self.pool_size))
        results['mask'] = self._pool.pop()
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size=({self.height}, {self.width}), '
                f'num_masking_patches={self.num_masking_patches}, min_num_patches={self.min_num_patches}, '
                f'max_num_patches={self.max_num_patches}, min_aspect={self.min_aspect}, '
                f'max_aspect={self.max_aspect}, exact={self.exact}, pool_size={self.pool_size})')


@TRANSFORMS.register_module()
class RandomMaskGenerator(BaseTransform):
    """Uniformly random patch mask with an exact count of ``round(mask_ratio * H * W)``.

    Added keys: ``mask`` (np.ndarray of bool, shape (H, W); True = masked).

    Args:
        input_size: Patch grid (H, W). Defaults to 14.
        mask_ratio: Fraction of patches to mask, in (0, 1]. Defaults to 0.4.
    """

    def __init__(self, input_size: Union[int, Sequence[int]] = 14, mask_ratio: float = 0.4) -> None:
        self.height, self.width = _to_hw(input_size)
        if not 0 < mask_ratio <= 1:
            raise ValueError(f'mask_ratio must be in (0, 1], got {mask_ratio}')
        self.mask_ratio = float(mask_ratio)
        self.num_masking_patches = int(round(mask_ratio * self.height * self.width))
        if self.num_masking_patches == 0:
            raise ValueError(f'mask_ratio {mask_ratio} masks no patch of a {self.height}x{self.width} grid')

    def generate(self) -> np.ndarray:
        """Draw one mask: bool array of shape (H, W) with exactly the configured count."""
        mask = np.zeros(self.height * self.width, dtype=bool)
        mask[np.random.permutation(mask.size)[:self.num_masking_patches]] = True
        return mask.reshape(self.height, self.width)

    def transform(self, results: dict) -> dict:
        """Add ``results['mask']`` (bool, (H, W))."""
        results['mask'] = self.generate()
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size=({self.height}, {self.width}), '
                f'mask_ratio={self.mask_ratio})')
