"""Image loading that detects corrupt and truncated files, then fails or skips them per a switch.

mmcv's ``LoadImageFromFile`` stops on an undecodable file with a bare ``AssertionError`` and
decodes a truncated JPEG silently (OpenCV fills the missing part with grey).
``RobustLoadImageFromFile`` also checks that a JPEG has its end-of-image marker after the last
scan and a PNG its ``IEND`` chunk, then, per ``on_corrupt``:

- ``'error'``: raise :class:`CorruptImageError` naming the file and the fix;
- ``'skip'``: log a warning naming the file, count it, and return ``None`` so the dataset draws
  another sample (mmengine's ``BaseDataset`` refetch; training only: evaluation must not skip).

The count is shared by the dataloader workers; ``beitmm.DataHealthHook`` logs it every epoch.
"""
import logging
import multiprocessing
import os
from multiprocessing.context import get_spawning_popen
from typing import Optional

import mmcv
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log

from beitmm.registry import TRANSFORMS

FIX = ("replace or delete the file (or drop it from the split file), or set on_corrupt='skip' in the training "
       "pipeline's beitmm.RobustLoadImageFromFile to skip such files with a warning")


class CorruptImageError(ValueError):
    """An image file cannot be decoded or is cut short."""


def find_corruption(data: bytes) -> Optional[str]:
    """Why ``data`` is a truncated JPEG / PNG, or None when its structure is complete.

    Args:
        data: Encoded image.

    Returns:
        str | None: The problem found.
    """
    if not data:
        return 'the file is empty'
    if data[:2] == b'\xff\xd8':  # JPEG: entropy-coded data never holds FFD9 (0xFF bytes are stuffed)
        if data.rfind(b'\xff\xd9') < data.rfind(b'\xff\xda'):
            return 'truncated JPEG (no end-of-image marker after the last scan)'
    elif data[:8] == b'\x89PNG\r\n\x1a\n' and data.rfind(b'IEND') < 0:
        return 'truncated PNG (no IEND chunk)'
    return None


@TRANSFORMS.register_module()
class RobustLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` that fails clearly on, or skips, corrupt and truncated images.

    Args:
        on_corrupt: ``'error'`` or ``'skip'``. Defaults to ``'error'``.
        check_truncation: Check JPEG / PNG end markers (a truncated JPEG otherwise
            decodes with grey fill). Defaults to True.
        on_missing: ``'error'`` (a missing file raises, usually a wrong path in the config) or ``'skip'``
            (counted like a corrupt file: image-text dumps list failed downloads). Defaults to ``'error'``.
        **kwargs: Arguments of mmcv's ``LoadImageFromFile`` (``to_float32``, ``color_type``,
            ``imdecode_backend``, ``backend_args``, ...).
    """

    def __init__(self, on_corrupt: str = 'error', check_truncation: bool = True, on_missing: str = 'error',
                 **kwargs) -> None:
        if on_corrupt not in ('error', 'skip'):
            raise ValueError(f"on_corrupt must be 'error' or 'skip', got {on_corrupt!r}")
        if on_missing not in ('error', 'skip') or (on_missing == 'skip' and on_corrupt != 'skip'):
            raise ValueError(f"on_missing must be 'error' or 'skip' (with on_corrupt='skip'), got {on_missing!r}")
        self.on_missing = on_missing
        super().__init__(**kwargs)
        self.on_corrupt = on_corrupt
        self.check_truncation = check_truncation
        self._skipped = multiprocessing.Value('q', 0)  # shared with forked dataloader workers

    @property
    def num_skipped(self) -> int:
        """Images skipped so far by this transform in all processes that share its counter."""
        return int(self._skipped.value) if self._skipped is not None else 0

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if get_spawning_popen() is None:  # only process start-up may pickle a shared counter
            state['_skipped'] = None
        return state

    def __deepcopy__(self, memo: dict) -> 'RobustLoadImageFromFile':
        new = self.__class__.__new__(self.__class__)
        new.__dict__.update(self.__dict__)  # plain settings; the counter stays shared
        return new

    def _corrupt(self, path: str, reason: str) -> None:
        if self.on_corrupt == 'error':
            raise CorruptImageError(f"Corrupt image '{path}': {reason}. Fix: {FIX}.")
        total = 1
        if self._skipped is not None:
            with self._skipped.get_lock():
                self._skipped.value += 1
                total = self._skipped.value
        print_log(f"Skipped corrupt image '{path}': {reason} ({total} skipped so far, pid {os.getpid()}); "
                  "set on_corrupt='error' to stop on such files instead", logger='current', level=logging.WARNING)

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']``.

        Args:
            results: Sample dict with ``img_path`` (and the encoded image as ``img_bytes`` when it comes from a
                tar shard; ``img_path`` then only names it in messages).

        Returns:
            dict | None: ``results`` with ``img``, ``img_shape``, ``ori_shape``; None when the image
            is corrupt and ``on_corrupt='skip'``.

        Raises:
            CorruptImageError: The image is corrupt and ``on_corrupt='error'``.
        """
        path = results['img_path']
        if 'img_bytes' in results:  # a tar member read by beitmm.WebDatasetPairs (None: the sample has no image)
            data = results.pop('img_bytes')
            if data is None:
                self._corrupt(path, 'the sample has no image member')
                return None
        elif self.on_missing == 'skip' and not fileio.exists(path, backend_args=self.backend_args):
            self._corrupt(path, 'the file does not exist')
            return None
        else:
            data = fileio.get(path, backend_args=self.backend_args)  # a missing file keeps its own error
        reason = find_corruption(data) if self.check_truncation else None
        img = None
        if reason is None:
            try:
                img = mmcv.imfrombytes(data, flag=self.color_type, backend=self.imdecode_backend)
            except Exception as err:  # decoders raise many types (PIL: OSError, UnidentifiedImageError)
                reason = f'cannot decode it ({type(err).__name__}: {err})'
            if img is None and reason is None:
                reason = f'the {self.imdecode_backend} decoder cannot read it'
        if reason is not None:
            self._corrupt(path, reason)
            return None
        if self.to_float32:
            img = img.astype('float32')
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
