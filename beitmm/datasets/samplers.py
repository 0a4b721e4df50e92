"""Samplers whose position can be restored, and per-sample seeding of data pipelines.

mmengine's ``DefaultSampler`` / ``InfiniteSampler`` restart from the beginning of an epoch
(or re-read every trained batch) on resume, and data augmentation draws from the global random
state of each dataloader worker, which a checkpoint cannot capture. The samplers here:

- yield :class:`SeededIndex` objects: ints that also carry ``(seed, epoch, position)``, where
  ``position`` is the sample's place in the global (all-rank) order of the epoch;
- can skip the first ``n`` samples of this rank (:meth:`skip`), which a resumed loop uses to
  continue in the middle of an epoch without loading the skipped data.

:func:`install_sample_seeding` makes a dataset seed ``random``, ``numpy`` and ``torch`` from
that triple before it runs its pipeline on the sample, and puts the caller's random states
back afterwards. Augmentations then depend only on (seed, epoch, position): identical with 0 or
N workers, persistent or not, after a resume, and on 1 process vs N processes with the same
total batch.
"""
import contextlib
import itertools
import random
from typing import Callable, Iterator, Optional, Sized, Tuple

import numpy as np
import torch
from mmengine.dataset import DefaultSampler, InfiniteSampler

from beitmm.registry import DATA_SAMPLERS


class SeededIndex(int):
    """A dataset index that carries the key ``(seed, epoch, position)`` of its augmentation seed."""

    key: Tuple[int, int, int]

    def __new__(cls, index: int, key: Tuple[int, int, int]) -> 'SeededIndex':
        """Create the index.

        Args:
            index: The dataset index.
            key: ``(seed, epoch, position)`` the augmentation seed is drawn from (see :func:`sample_seed`).

        Returns:
            An ``int`` equal to ``index`` with a ``key`` attribute.
        """
        obj = super().__new__(cls, index)
        obj.key = key
        return obj

    def __reduce__(self):  # dataloader workers receive indices through pickling
        return SeededIndex, (int(self), self.key)


def sample_seed(key: Tuple[int, ...]) -> int:
    """A well-mixed 32-bit seed of ``(seed, epoch, position)``.

    Args:
        key: ``(sampler seed, epoch, global position)``.

    Returns:
        int: Seed for ``random``, ``numpy`` and ``torch``.
    """
    return int(np.random.SeedSequence([k & 0xFFFFFFFF for k in key]).generate_state(1)[0])


@contextlib.contextmanager
def seeded_random(key: Tuple[int, ...]) -> Iterator[None]:
    """Seed ``random``, ``numpy`` and ``torch`` from ``key`` inside the block; restore the caller's states after.

    Args:
        key: Integers the seed is drawn from (see :func:`sample_seed`).
    """
    seed = sample_seed(key)
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed)
    # the CPU generator only, the one restored below: torch.manual_seed would also (re)seed CUDA, and where CUDA is
    # built but not started it queues that call with a captured stack trace, ~0.1 ms per sample
    torch.default_generator.manual_seed(seed)
    try:
        yield
    finally:  # the caller (main process with 0 workers) keeps its own random stream
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


class _SeededPrepare:
    """Replacement of ``dataset.prepare_data`` that runs the pipeline under a per-sample seed."""

    def __init__(self, prepare: Callable) -> None:
        self.prepare = prepare

    def __call__(self, idx):
        key = getattr(idx, 'key', None)
        if key is None:
            return self.prepare(idx)
        with seeded_random(key):
            return self.prepare(int(idx))


def install_sample_seeding(dataset) -> bool:
    """Make ``dataset`` seed its pipeline from the :class:`SeededIndex` it is given (idempotent).

    Args:
        dataset: An mmengine ``BaseDataset`` (anything with ``prepare_data(idx)``).

    Returns:
        bool: False when the dataset has no ``prepare_data`` (wrappers such as ``ConcatDataset``
        map indices themselves); its augmentations then keep the workers' random state.
    """
    if getattr(dataset, 'seeds_per_sample', False):  # seeds its samples itself (beitmm.MultiSourceDataset)
        return True
    prepare = getattr(dataset, 'prepare_data', None)
    if prepare is None:
        return False
    if not isinstance(prepare, _SeededPrepare):
        dataset.prepare_data = _SeededPrepare(prepare)
    return True


@DATA_SAMPLERS.register_module()
class ResumableSampler(DefaultSampler):
    """``DefaultSampler`` yielding :class:`SeededIndex` and able to start mid-epoch.

    Args:
        dataset: The dataset.
        shuffle: Shuffle every epoch (seeded by ``seed + epoch``). Defaults to True.
        seed: Sampler seed; synchronised over ranks when None. Defaults to None.
        round_up: Pad so every rank gets the same number of samples. Defaults to True.
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        super().__init__(dataset, shuffle=shuffle, seed=seed, round_up=round_up)
        self._skip = 0

    def skip(self, num_samples: int) -> None:
        """Leave out the first ``num_samples`` samples of this rank in the next iteration only.

        Args:
            num_samples: Samples of this rank already trained in the current epoch.
        """
        self._skip = int(num_samples)

    def __iter__(self) -> Iterator[SeededIndex]:
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = torch.randperm(len(self.dataset), generator=g).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if self.round_up:
            indices = (indices * int(self.total_size / len(indices) + 1))[:self.total_size]
        positions = range(self.rank, self.total_size, self.world_size)[self._skip:]
        self._skip = 0
        return iter([SeededIndex(indices[p], (self.seed, self.epoch, p)) for p in positions])


@DATA_SAMPLERS.register_module()
class ResumableInfiniteSampler(InfiniteSampler):
    """``InfiniteSampler`` yielding :class:`SeededIndex`; :meth:`skip` restarts at a position.

    Args:
        dataset: The dataset.
        shuffle: Reshuffle on every pass over the data. Defaults to True.
        seed: Sampler seed; synchronised over ranks when None. Defaults to None.
    """

    def _seeded_indices(self, start: int) -> Iterator[SeededIndex]:
        stream = self._infinite_indices()
        position = start * self.world_size + self.rank  # global position in the infinite order
        for index in itertools.islice(stream, position, None, self.world_size):
            yield SeededIndex(index, (self.seed, position // self.size, position))
            position += self.world_size

    def _indices_of_rank(self) -> Iterator[SeededIndex]:
        return self._seeded_indices(getattr(self, '_start', 0))

    def __iter__(self) -> Iterator[SeededIndex]:
        # A fresh stream per iter(): mmengine's ``yield from self.indices`` shares one generator, which
        # closing an earlier dataloader iterator (workers shut down) closes too, ending every later one.
        return self._seeded_indices(getattr(self, '_start', 0))

    def skip(self, num_samples: int) -> None:
        """Continue from sample ``num_samples`` of this rank (counted from the start of training).

        Args:
            num_samples: Samples of this rank already trained.
        """
        self._start = int(num_samples)
        self.indices = self._seeded_indices(self._start)
