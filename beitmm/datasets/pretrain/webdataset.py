"""Image-text pairs streamed from WebDataset tar shards, without an index of the samples in memory.

The shards are img2dataset / LAION's: ``000000.tar`` with ``key.jpg``, ``key.txt``, ``key.json``.

Reading uses beitmm's tar header reader (:mod:`.tar_reader`) rather than the ``webdataset`` pipeline (the tests write
the shards with ``webdataset.TarWriter``): exact resume needs the position of a sample in the rank's stream, and
skipping to it reads only the 512-byte member headers of the shards before it, never the images (~4x faster than
``tarfile``: ``benchmark.py pretrain-data``). Shards already counted are skipped whole when there is no shuffle
buffer.

Order (deterministic): the shard list (a brace pattern, a glob, or a list; sorted as given) is shuffled per epoch by
``(seed, epoch)``, rank ``r`` of ``W`` takes shards ``r, r + W, ...`` of it, reads their samples in order (optionally
through a seeded shuffle buffer), and epochs follow one another: an infinite stream per rank. The samples of a step are
positions ``[step * count, (step + 1) * count)`` of that stream, whichever dataloader worker asks for them: every worker
walks the headers of the rank's shards and reads the data of its own steps only, so the batches do not depend on the
number of workers.
"""
import glob
import json
import logging
import multiprocessing
import os
import os.path as osp
import random
from multiprocessing.context import get_spawning_popen
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import Compose
from mmengine.logging import print_log

from beitmm.registry import DATASETS

from ..samplers import sample_seed
from ..vl.common import check_text, join_root
from .tar_reader import Ref, scan_shard

IMAGE_EXTS = ('jpg', 'jpeg', 'png', 'webp')


def expand_shards(shards: Union[str, Sequence[str]], data_root: str = '') -> List[str]:
    """Shard paths of a brace pattern (``pairs-{000000..000009}.tar``), a glob, or a list of either.

    Args:
        shards: The pattern(s).
        data_root: Root of relative paths.

    Returns:
        list[str]: Existing shard files, in the order given (each glob sorted).
    """
    import braceexpand  # installed with webdataset (requirements/multimodal.txt)
    patterns = [shards] if isinstance(shards, str) else list(shards)
    out = []
    for pattern in patterns:
        for name in braceexpand.braceexpand(pattern):
            if name.startswith('pipe:'):  # a shell command writing the shard to stdout: read as a stream
                out.append(name)
                continue
            path = join_root(data_root, name)
            found = sorted(glob.glob(path)) if any(c in name for c in '*?[') else [path]
            if not found or not all(osp.isfile(p) for p in found):
                missing = path if not found else next(p for p in found if not osp.isfile(p))
                raise FileNotFoundError(f"WebDatasetPairs.shards: '{missing}' does not exist (shards={shards!r}, "
                                        f'data_root={data_root!r})')
            out += found
    if not out:
        raise ValueError(f'WebDatasetPairs.shards={shards!r} names no shard')
    return out


def shuffled(refs: Iterator[Ref], size: int, rng: random.Random) -> Iterator[Ref]:
    """The webdataset shuffle buffer: keep ``size`` samples, emit a random one as each new one arrives.

    Args:
        refs: The samples in order.
        size: Buffer size.
        rng: Seeded generator.

    Yields:
        Ref: The samples, shuffled; the last ``size`` in a random order at the end.
    """
    buf: List[Ref] = []
    for ref in refs:
        if len(buf) < size:
            buf.append(ref)
            continue
        j = rng.randrange(size)
        buf[j], ref = ref, buf[j]
        yield ref
    rng.shuffle(buf)
    yield from buf


@DATASETS.register_module()
class WebDatasetPairs:
    """Image-text pairs streamed from WebDataset tar shards; a stream of ``beitmm.MultiSourceDataset``.

    Shards are local files (read by seeking: a worker reads only the data of its own samples), or webdataset's
    ``pipe:CMD`` URLs (``pipe:aws s3 cp s3://bucket/pairs-{000000..000099}.tar -``), read as streams: then every
    dataloader worker reads all the bytes of its rank's shards, and the sample shuffle buffer holds the data.

    Each sample before the pipeline: ``img_bytes`` (the encoded image, None when the sample has none: then
    ``beitmm.RobustLoadImageFromFile`` skips and counts it), ``img_path`` (``shard.tar:key.jpg``, for messages),
    ``text`` (the ``.txt`` member, else the ``.json`` member's ``caption``, else ''), ``key`` and ``shard``.

    A sample whose text cannot be read (a ``.txt`` / ``.json`` member that is not UTF-8, a ``.json`` member that is
    not a JSON object, a caption that is not encodable text) is skipped and counted like a sample without an image
    (``on_bad_text='skip'``, :attr:`num_skipped`, replaced inside its step by ``beitmm.MultiSourceDataset``), or
    stops the run naming the shard and key (``'error'``).

    Args:
        shards: Brace pattern, glob, or list of shard files.
        data_root: Root of relative shard paths.
        pipeline: Transforms (``beitmm.RobustLoadImageFromFile(on_corrupt='skip')`` first).
        shuffle_shards: Shuffle the shard order every epoch (seeded).
        shuffle_buffer: Size of a seeded sample shuffle buffer (0: shard order).
        image_exts: Member extensions taken as the image, in order of preference.
        on_bad_text: ``'skip'`` (warn and count) or ``'error'``, for a sample whose text cannot be read.
        verify_shards: Walk the member headers of every local shard when the dataset is built (on every rank), so
            a cut-short or unreadable shard stops the run at start-up instead of when it is reached; the walk also
            counts the samples, which later resumes reuse. Off by default (a choice): it reads every header of every
            shard, measured 0.4-0.7 s per 10,000-sample (220 MB) shard from the page cache on 2 busy cores, i.e.
            minutes for CC3M's ~300 shards and hours for LAION-400M's 41,000, more from network storage; a bad shard
            is named anyway when reached. Turn it on for small or freshly downloaded local sets.
    """

    def __init__(self, shards: Union[str, Sequence[str]], data_root: str = '', pipeline: Sequence = (),
                 shuffle_shards: bool = True, shuffle_buffer: int = 0, image_exts: Sequence[str] = IMAGE_EXTS,
                 on_bad_text: str = 'skip', verify_shards: bool = False) -> None:
        if shuffle_buffer < 0:
            raise ValueError(f'WebDatasetPairs.shuffle_buffer must be >= 0, got {shuffle_buffer}')
        if on_bad_text not in ('skip', 'error'):
            raise ValueError(f"WebDatasetPairs.on_bad_text must be 'skip' or 'error', got {on_bad_text!r}")
        self.shards = expand_shards(shards, data_root)
        self.pipeline = Compose(list(pipeline))
        self.shuffle_shards, self.shuffle_buffer = shuffle_shards, int(shuffle_buffer)
        self.image_exts = tuple(e.lower().lstrip('.') for e in image_exts)
        self.on_bad_text = on_bad_text
        self._cursor, self._files = None, {}
        self._counts: Dict[int, int] = {}  # samples per shard, once read (one int per shard)
        self._skipped = multiprocessing.Value('q', 0)  # shared with forked dataloader workers
        if verify_shards:
            self.verify()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__, _cursor=None, _files={})
        if get_spawning_popen() is None:  # only process start-up may pickle a shared counter
            state['_skipped'] = None
        return state

    @property
    def num_skipped(self) -> int:
        """Samples skipped so far for an unreadable text, in all processes sharing the counter."""
        return int(self._skipped.value) if self._skipped is not None else 0

    def verify(self) -> None:
        """Walk the member headers of every local shard (``pipe:`` shards are left out: they would be read whole).

        Raises:
            ValueError: A shard is cut short or not a tar file (naming it and the samples read before).
        """
        for s, path in enumerate(self.shards):
            if not path.startswith('pipe:'):
                self._counts[s] = sum(1 for _ in scan_shard(path, s))

    def check_world(self, world_size: int) -> None:
        """Raise unless every one of ``world_size`` ranks gets a shard."""
        if len(self.shards) < world_size:
            raise ValueError(f'WebDatasetPairs: {len(self.shards)} shard(s) for {world_size} ranks; every rank needs '
                             'at least one shard (write more, smaller shards)')

    def rank_shards(self, seed: int, epoch: int, rank: int, world_size: int) -> List[int]:
        """Shard numbers rank ``rank`` reads in ``epoch``."""
        self.check_world(world_size)
        order = list(range(len(self.shards)))
        if self.shuffle_shards:
            random.Random(sample_seed((seed, epoch, 0, 0, 2))).shuffle(order)
        return order[rank::world_size]

    def _shard_refs(self, shards: List[int], cursor: list) -> Iterator[Ref]:
        for s in shards:
            n = self._counts.get(s)
            if n is not None and not self.shuffle_buffer and cursor[2] + n <= cursor[3]:
                cursor[2] += n  # counted before and wholly before the target: skipped unread
                continue
            n = 0
            for ref in scan_shard(self.shards[s], s):
                n += 1
                yield ref
            self._counts[s] = n

    def _stream(self, seed: int, rank: int, world_size: int, cursor: list) -> Iterator[Ref]:
        epoch = 0
        while True:
            start = cursor[2]
            refs = self._shard_refs(self.rank_shards(seed, epoch, rank, world_size), cursor)
            if self.shuffle_buffer:
                refs = shuffled(refs, self.shuffle_buffer, random.Random(sample_seed((seed, epoch, rank, 0, 3))))
            empty = True
            for ref in refs:
                empty = False
                cursor[2] += 1  # position after this sample
                yield ref
            if empty and cursor[2] == start:
                raise ValueError(f'WebDatasetPairs: the shards of rank {rank} hold no sample')
            epoch += 1

    def refs(self, start: int, count: int, seed: int, rank: int, world_size: int) -> List[Ref]:
        """Samples ``start .. start + count - 1`` of the rank's stream (headers only; the cursor moves forward).

        Args:
            start: First position in the rank's stream.
            count: Number of samples.
            seed: Sampler seed.
            rank: This rank.
            world_size: Number of ranks.

        Returns:
            list[Ref]: The samples' references.
        """
        state = (seed, rank, world_size, os.getpid())
        if self._cursor is None or self._cursor[0] != state or self._cursor[2] > start:
            cursor = [state, None, 0, start]  # rewind: walk from the start (state, stream, position, target)
            cursor[1] = self._stream(seed, rank, world_size, cursor)
            self._cursor = cursor
        cursor = self._cursor
        cursor[3] = start
        out = []
        while len(out) < count:
            ref = next(cursor[1])
            if cursor[2] > start:  # the sample at cursor[2] - 1 (a skip may have jumped to it)
                out.append(ref)
        return out

    def _read(self, shard_no: int, span: Union[Tuple[int, int], bytes]) -> bytes:
        if isinstance(span, bytes):  # a pipe: shard's member, read during the scan
            return span
        if self._files.get('pid') != os.getpid():
            self._files = {'pid': os.getpid()}
        f = self._files.get(shard_no)
        if f is None:
            for old in [k for k in self._files if k != 'pid']:  # one open shard per process
                self._files.pop(old).close()
            f = self._files[shard_no] = open(self.shards[shard_no], 'rb')
        f.seek(span[0])
        return f.read(span[1])

    def load(self, ref: Ref) -> dict:
        """The raw sample (before the pipeline) of a reference.

        Args:
            ref: From :meth:`refs`.

        Returns:
            dict | None: ``img_bytes``, ``img_path``, ``text``, ``key``, ``shard``; None for a sample skipped for an
            unreadable text.
        """
        shard_no, _, key, members = ref
        ext = next((e for e in self.image_exts if e in members), None)
        name = f'{self.shards[shard_no]}:{key}.{ext or self.image_exts[0]}'
        text = self._text(shard_no, key, members)
        if text is None:
            return None
        img = self._read(shard_no, members[ext]) if ext else None
        return dict(img_bytes=img, img_path=name, text=text, key=key, shard=self.shards[shard_no])

    def _text(self, shard_no: int, key: str, members: dict) -> Optional[str]:
        """The caption of a sample ('' without one); None when it cannot be read and ``on_bad_text='skip'``."""
        member = 'txt' if 'txt' in members else 'json' if 'json' in members else None
        if member is None:
            return ''
        where = f"WebDataset shard '{self.shards[shard_no]}' sample '{key}'"
        try:  # strict UTF-8 (json.loads of bytes would let encoded surrogates through)
            raw = self._read(shard_no, members[member]).decode('utf-8')
        except UnicodeDecodeError as e:
            return self._bad_text(f'{where}: the .{member} member is not UTF-8 ({e})')
        if member == 'txt':
            text = raw
        else:
            try:
                meta = json.loads(raw or '{}')
            except json.JSONDecodeError as e:
                return self._bad_text(f'{where}: the .json member is not valid JSON ({e})')
            if not isinstance(meta, dict):
                return self._bad_text(f'{where}: the .json member is a JSON {type(meta).__name__}, not an object')
            text = str(meta.get('caption') or '')
        try:
            return check_text(text, f'{where}: the caption of the .{member} member').strip()
        except ValueError as e:
            return self._bad_text(str(e))

    def _bad_text(self, reason: str) -> None:
        """Raise (``on_bad_text='error'``), or warn and count a skipped sample."""
        if self.on_bad_text == 'error':
            raise ValueError(f"{reason}; fix the shard, or set on_bad_text='skip' to skip such samples")
        total = 1
        if self._skipped is not None:
            with self._skipped.get_lock():
                self._skipped.value += 1
                total = self._skipped.value
        print_log(f"Skipped a sample with unreadable text: {reason} ({total} skipped so far, pid {os.getpid()}); set "
                  "on_bad_text='error' to stop on such samples instead", logger='current', level=logging.WARNING)

    @staticmethod
    def sample_id(ref: Ref) -> int:
        """A unique id of a sample: ``shard number * 2**32 + sample number in the shard``."""
        return ref[0] * (1 << 32) + ref[1]

    def describe(self) -> Optional[str]:
        """One line for the logs."""
        return f'{len(self.shards)} shards ({self.shards[0]} ...), shuffle buffer {self.shuffle_buffer}'
