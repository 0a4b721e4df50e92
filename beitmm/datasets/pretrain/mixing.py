"""The multi-source pretraining loader: every step holds fixed counts of images, texts and image-text pairs.

``MultiSourceDataset[step]`` builds the whole step of this rank: ``{'image': [...], 'text': [...], 'pair': [...]}``.
``MultiSourceStepSampler`` feeds it the step numbers 0, 1, 2, ... (with the run's seed) and resumes at any step, and
``collate_streams`` stacks each stream. The samples of a step are a function of ``(seed, step, rank, world size)``:

- map-style sources (``beitmm.UnlabeledImageFolder``, ``beitmm.TextLineDataset``, ``beitmm.ImageTextPairDataset``):
  global positions ``step * count * W + j * W + rank`` (``j < count``) of an endless sequence of epochs, each a
  permutation seeded by ``(seed, stream, epoch)`` (ResumableInfiniteSampler's interleaving of ranks);
- ``beitmm.WebDatasetPairs``: positions ``[step * count, (step + 1) * count)`` of the rank's shard stream.

Every sample's pipeline runs under ``seeded_random`` of ``(seed, stream, global position)`` (map-style) or ``(seed,
stream, rank, position)`` (shards), so crops, patch masks and text masks are the same with 0 or N workers and after a
resume; the orders draw from 5-element keys, so no order shares a seed with a sample.

A sample the pipeline drops (a corrupt or missing image, an empty text: skipped and counted by the transform), or
the source drops (an unreadable WebDataset text: counted by ``beitmm.WebDatasetPairs``), is replaced by the next good
sample of the same step, transformed under the dropped sample's seed, so the counts stay fixed (DDP all-gathers need
equal sizes) and no later step moves.
"""
import copy
from typing import Dict, Iterator, List, Optional

import torch
from mmengine.dataset import default_collate
from mmengine.dist import get_dist_info, sync_random_seed

from beitmm.registry import DATA_SAMPLERS, DATASETS, FUNCTIONS

from ..samplers import SeededIndex, sample_seed, seeded_random

STREAMS = ('image', 'text', 'pair')


def check_counts(counts: dict, sources: dict) -> Dict[str, int]:
    """Validate the per-step counts against the sources.

    Args:
        counts: Stream name -> samples per rank per step.
        sources: Stream name -> dataset config.

    Returns:
        dict: The streams with a positive count, in the order of :data:`STREAMS`.

    Raises:
        ValueError: An unknown stream, a count that is not an int >= 0, all counts zero, a count without a source
            or a source without a count.
    """
    if not isinstance(counts, dict) or not isinstance(sources, dict):
        raise TypeError(f'MultiSourceDataset: counts and sources must be dicts keyed by stream {STREAMS}, got '
                        f'{type(counts).__name__} and {type(sources).__name__}')
    for setting, names in (('counts', counts), ('sources', sources)):
        unknown = sorted(set(names) - set(STREAMS))
        if unknown:
            raise ValueError(f'MultiSourceDataset.{setting}: unknown stream(s) {unknown}; the streams are {STREAMS}')
    for name, n in counts.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f'MultiSourceDataset.counts[{name!r}] must be an int >= 0 (samples per rank per step), '
                             f'got {n!r}')
    active = {k: counts[k] for k in STREAMS if counts.get(k, 0) > 0}
    if not active:
        raise ValueError(f'MultiSourceDataset.counts={counts!r} sums to zero: give at least one stream a count > 0')
    missing = sorted(set(active) - set(sources))
    if missing:
        raise ValueError(f'MultiSourceDataset.counts gives stream(s) {missing} a count but sources has no dataset '
                         'for them')
    idle = sorted(k for k in sources if k not in active)
    if idle and set(idle) - set(counts):
        raise ValueError(f'MultiSourceDataset.sources has stream(s) {sorted(set(idle) - set(counts))} without a '
                         'count in counts (give 0 to drop a stream)')
    return active


class _MapStream:
    """A map-style dataset as a stream: seeded per-epoch permutations, ranks interleaved."""

    def __init__(self, dataset, stream_no: int, shuffle: bool) -> None:
        self.dataset, self.stream_no, self.shuffle = dataset, stream_no, shuffle
        self.pipeline = getattr(dataset, 'pipeline', None)
        self._orders: Dict[tuple, torch.Tensor] = {}
        if len(dataset) == 0:
            raise ValueError(f'MultiSourceDataset: the {STREAMS[stream_no]!r} source {type(dataset).__name__} is empty')

    def _order(self, seed: int, epoch: int) -> torch.Tensor:
        key = (seed, epoch)
        if key not in self._orders:
            n = len(self.dataset)
            if self.shuffle:
                g = torch.Generator().manual_seed(sample_seed((seed, self.stream_no, epoch, 0, 1)))
                order = torch.randperm(n, generator=g)
            else:
                order = torch.arange(n)
            self._orders = {k: v for k, v in self._orders.items() if k[1] >= epoch - 1}  # keep two epochs
            self._orders[key] = order
        return self._orders[key]

    def take(self, step: int, count: int, seed: int, rank: int, world_size: int) -> List[tuple]:
        n, out = len(self.dataset), []
        for j in range(count):
            g = (step * count + j) * world_size + rank  # global position
            index = int(self._order(seed, g // n)[g % n])
            out.append((index, (seed, self.stream_no, g), index))
        return out

    def load(self, handle) -> dict:
        return self.dataset.get_data_info(handle)

    def run(self, raw: dict) -> Optional[dict]:
        return self.pipeline(raw)


class _ShardStream:
    """``beitmm.WebDatasetPairs`` as a stream: consecutive positions of the rank's shard stream."""

    def __init__(self, source, stream_no: int) -> None:
        self.source, self.stream_no, self.pipeline = source, stream_no, source.pipeline

    def take(self, step: int, count: int, seed: int, rank: int, world_size: int) -> List[tuple]:
        refs = self.source.refs(step * count, count, seed, rank, world_size)
        return [(self.source.sample_id(r), (seed, self.stream_no, rank, step * count + j), r)
                for j, r in enumerate(refs)]

    def load(self, handle) -> dict:
        return self.source.load(handle)

    def run(self, raw: dict) -> Optional[dict]:
        return self.pipeline(raw)


@DATASETS.register_module()
class MultiSourceDataset(torch.utils.data.Dataset):
    """One training step of images, texts and image-text pairs per item, in fixed counts.

    Args:
        sources: Stream name (``'image'``, ``'text'``, ``'pair'``) -> dataset config (or dataset).
        counts: Stream name -> samples per rank per step (0 drops the stream; its source is not built).
        shuffle: Shuffle the map-style sources every epoch (WebDataset shards shuffle by their own setting).
        seed: Seed when the index is a plain int (the sampler passes the run's seed with the step).
        rank: This process' rank (default: from ``torch.distributed``).
        world_size: Number of ranks (default: from ``torch.distributed``).
    """

    seeds_per_sample = True  # beitmm.datasets.samplers.install_sample_seeding leaves it alone

    def __init__(self, sources: dict, counts: dict, shuffle: bool = True, seed: int = 0,
                 rank: Optional[int] = None, world_size: Optional[int] = None) -> None:
        self.counts = check_counts(counts, sources)
        dist_rank, dist_world = get_dist_info()
        self.rank = dist_rank if rank is None else int(rank)
        self.world_size = dist_world if world_size is None else int(world_size)
        self.seed = int(seed)
        self.sources, self._streams = {}, {}
        for name in self.counts:
            src = sources[name]
            src = DATASETS.build(src) if isinstance(src, dict) else src
            if hasattr(src, 'full_init'):
                src.full_init()
            self.sources[name] = src
            no = STREAMS.index(name)
            if hasattr(src, 'refs'):
                src.check_world(self.world_size)
                self._streams[name] = _ShardStream(src, no)
            else:
                self._streams[name] = _MapStream(src, no, shuffle)

    def step(self, step: int, seed: Optional[int] = None) -> Dict[str, List[dict]]:
        """The samples of one step of this rank.

        Args:
            step: Step number (from 0).
            seed: Seed (default: ``self.seed``).

        Returns:
            dict: Stream name -> list of ``counts[name]`` packed samples, each with ``index``.
        """
        seed = self.seed if seed is None else int(seed)
        out = {}
        for name, count in self.counts.items():
            stream = self._streams[name]
            cands = stream.take(step, count, seed, self.rank, self.world_size)
            raws = [stream.load(handle) for _, _, handle in cands]
            samples, failed = [None] * count, set()
            for j, (_, key, _) in enumerate(cands):
                for k in range(count):  # the sample itself, then the others of the step in order
                    other = (j + k) % count
                    if other in failed:  # dropped (and counted by its transform) once: not tried again
                        continue
                    if raws[other] is None:  # dropped by the source itself (counted there)
                        result = None
                    else:
                        with seeded_random(key):
                            result = stream.run(copy.copy(raws[other]))
                    if result is not None:
                        result['index'] = torch.tensor(cands[other][0], dtype=torch.long)
                        samples[j] = result
                        break
                    failed.add(other)
                else:
                    bad = [r.get('img_path') or r.get('source') if r else '(unreadable text, named above)'
                           for r in raws]
                    raise RuntimeError(f'MultiSourceDataset: every {name!r} sample of step {step} (rank {self.rank}) '
                                       f'was skipped by the pipeline: {bad}')
            out[name] = samples
        return out

    def steps_per_epoch(self) -> int:
        """Steps of one pass over the largest map-style source (1 with streamed sources only); for the logs."""
        sizes = [-(-len(s.dataset) // (self.counts[n] * self.world_size)) for n, s in self._streams.items()
                 if isinstance(s, _MapStream)]
        return max(sizes, default=1)

    def __getitem__(self, idx) -> Dict[str, List[dict]]:
        key = getattr(idx, 'key', None)
        return self.step(int(idx), key[0] if key is not None else None)


@DATA_SAMPLERS.register_module()
class MultiSourceStepSampler(torch.utils.data.Sampler):
    """Endless step numbers for :class:`MultiSourceDataset` (use with ``batch_size=None``), resumable.

    Args:
        dataset: The dataset (the steps are the same on every rank; the dataset picks the rank's part).
        seed: Seed carried with every step (synchronised over ranks when None, as mmengine's samplers do).
    """

    def __init__(self, dataset=None, seed: Optional[int] = None) -> None:
        self.dataset = dataset
        self.seed = sync_random_seed() if seed is None else int(seed)
        self._start = 0

    def __len__(self) -> int:
        """A nominal epoch (:meth:`MultiSourceDataset.steps_per_epoch`): mmengine's loggers ask for one."""
        return self.dataset.steps_per_epoch() if hasattr(self.dataset, 'steps_per_epoch') else 1

    def skip(self, num_steps: int) -> None:
        """Continue at step ``num_steps`` (the steps already trained)."""
        self._start = int(num_steps)

    def set_epoch(self, epoch: int) -> None:
        """Nothing to do: the sources' epochs follow from the step (mmengine's DistSamplerSeedHook calls this)."""

    def __iter__(self) -> Iterator[SeededIndex]:
        step = self._start
        while True:
            yield SeededIndex(step, (self.seed, 0, step))
            step += 1


@FUNCTIONS.register_module()
def collate_streams(step: dict) -> Dict[str, dict]:
    """``default_collate`` each stream of a :class:`MultiSourceDataset` step.

    Args:
        step: Stream name -> list of samples (the dataloader must have ``batch_size=None``).

    Returns:
        dict: Stream name -> dict of batched tensors.
    """
    if not isinstance(step, dict):
        raise TypeError('collate_streams expects one MultiSourceDataset step; set train_dataloader.batch_size=None '
                        '(the per-step counts are MultiSourceDataset.counts)')
    return {name: default_collate(samples) for name, samples in step.items()}
