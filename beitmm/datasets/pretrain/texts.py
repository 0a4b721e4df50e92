"""Plain-text corpora for masked language modeling: one text per line, indexed by byte offsets (not held in memory)."""
import glob
import logging
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import Compose
from mmengine.logging import print_log

from beitmm.registry import DATASETS

from ..vl.common import decode_text, join_root


def expand_files(files: Union[str, Sequence[str]], data_root: str, what: str) -> List[str]:
    """Paths of ``files`` (names, glob patterns, or a list of either) under ``data_root``, each glob sorted.

    Args:
        files: One name / pattern or several.
        data_root: Root the relative names are joined to.
        what: The setting's name, for the messages.

    Returns:
        list[str]: Existing files.

    Raises:
        FileNotFoundError: A name does not exist or a pattern matches nothing.
    """
    names = [files] if isinstance(files, str) else list(files)
    if not names:
        raise ValueError(f'{what} is empty: name at least one file')
    out = []
    for name in names:
        path = join_root(data_root, name)
        if any(c in name for c in '*?['):
            found = sorted(glob.glob(path))
            if not found:
                raise FileNotFoundError(f"{what}: pattern '{path}' matches no file")
            out += found
        elif not osp.isfile(path):
            raise FileNotFoundError(f"{what}: '{path}' does not exist (data_root={data_root!r})")
        else:
            out.append(path)
    return out


def line_spans(path: str, chunk: int = 1 << 26, encoding: Optional[str] = None):
    """Byte offset and length (without the newline) of every line of a file; blank lines get length 0.

    Newlines are found with NumPy on 64 MiB chunks (no Python loop over lines). A blank line (spaces, tabs, carriage
    returns) of at most 8 bytes gets length 0; a longer blank line keeps its length and reaches the pipeline as an
    empty text, which ``beitmm.MaskText`` skips and counts.

    Args:
        path: The file.
        chunk: Bytes read at a time.
        encoding: When given, also decode every chunk's whole lines with it (strictly), so a line in another
            encoding stops the caller here, naming its line and byte offset, instead of when it is trained on.

    Returns:
        tuple: ``(starts, lengths)``, int64 arrays with one entry per line.
    """
    breaks, size, pending, lines = [], 0, b'', 0  # pending: the unfinished last line (decoded with its end)
    with open(path, 'rb') as f:
        while True:
            data = f.read(chunk)
            if not data:
                break
            found = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
            breaks.append(found + size)
            if encoding and len(found):  # whole lines only: no character is split between two decodes
                end = int(found[-1]) + 1
                decode_text(pending + data[:end], path, 'TextLineDataset', size - len(pending), lines + 1, encoding)
                pending, lines = data[end:], lines + len(found)
            elif encoding:
                pending += data
            size += len(data)
    if pending:
        decode_text(pending, path, 'TextLineDataset', size - len(pending), lines + 1, encoding)
    ends = np.concatenate(breaks + [np.zeros(0, np.int64)]).astype(np.int64)
    if size and (not len(ends) or ends[-1] != size - 1):  # a last line without a newline
        ends = np.append(ends, size)
    if not len(ends):
        return ends, ends.copy()
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
    lengths = ends - starts
    short = np.flatnonzero(lengths <= 8)  # blank-only lines are short or rare: check those few exactly
    with open(path, 'rb') as f:
        for i in short:
            f.seek(int(starts[i]))
            if not f.read(int(lengths[i])).strip():
                lengths[i] = 0
    return starts, lengths


@DATASETS.register_module()
class TextLineDataset:
    """Texts of plain UTF-8 files, one per line (Wikipedia / BookCorpus dumps, the synthetic ``texts.txt``).

    The index is three numpy arrays (file, byte offset, line number: 20 bytes a line), built by one pass over the
    files; each sample is read from disk when asked for. Each sample is ``{'text': str, 'source': 'file:line',
    'sample_idx': i}``, then the pipeline (e.g. ``beitmm.MaskText``, ``beitmm.PackPretrainInputs``).

    Args:
        data_root: Root of relative ``files``.
        files: File names or glob patterns (relative to ``data_root``).
        pipeline: Transforms.
        empty_lines: A blank (or all-whitespace) line: ``'skip'`` (not indexed; the count and the first place are
            logged) or ``'error'`` (raise naming the file and line).
        encoding: Text encoding of the files; every line is decoded once when the index is built (a line in another
            encoding stops the run at start-up, naming the file, line and byte offset).
    """

    def __init__(self, data_root: str = '', files: Union[str, Sequence[str]] = ('texts.txt', ),
                 pipeline: Sequence = (), empty_lines: str = 'skip', encoding: str = 'utf-8') -> None:
        if empty_lines not in ('skip', 'error'):
            raise ValueError(f"TextLineDataset: empty_lines must be 'skip' or 'error', got {empty_lines!r}")
        self.files = expand_files(files, data_root, 'TextLineDataset.files')
        self.encoding = encoding
        self.pipeline = Compose(list(pipeline))
        self.num_empty, first_empty, parts = 0, None, []
        for f_id, path in enumerate(self.files):
            starts, lengths = line_spans(path, encoding=encoding)
            empty = lengths == 0
            if empty.any():
                first = int(np.flatnonzero(empty)[0]) + 1
                if empty_lines == 'error':
                    raise ValueError(f"TextLineDataset: '{path}' line {first} is empty (one text per line is "
                                     "expected); remove it or set empty_lines='skip'")
                self.num_empty += int(empty.sum())
                first_empty = first_empty or f'{path}:{first}'
            keep = np.flatnonzero(~empty)
            parts.append((np.full(len(keep), f_id, np.int32), starts[keep], keep + 1))
        self._file, self._offset, self._line = (np.concatenate(p) for p in zip(*parts, strict=True))
        if not len(self._offset):
            raise ValueError(f'TextLineDataset: no text in {self.files}')
        if self.num_empty:
            print_log(f'TextLineDataset: skipped {self.num_empty} empty line(s) (first at {first_empty})',
                      logger='current', level=logging.WARNING)
        self._handles, self._pid = {}, None

    def __len__(self) -> int:
        return len(self._offset)

    def full_init(self) -> None:
        """Nothing to do: the index is built on construction (mmengine's dataset protocol)."""

    def _handle(self, f_id: int):
        if self._pid != os.getpid():  # forked dataloader workers open their own files
            self._handles, self._pid = {}, os.getpid()
        if f_id not in self._handles:
            self._handles[f_id] = open(self.files[f_id], 'rb')
        return self._handles[f_id]

    def __getstate__(self) -> dict:
        return dict(self.__dict__, _handles={}, _pid=None)

    def get_data_info(self, idx: int) -> dict:
        """The text of sample ``idx``.

        Args:
            idx: Sample index.

        Returns:
            dict: ``text``, ``source`` ('file:line') and ``sample_idx``.
        """
        f_id, line = int(self._file[idx]), int(self._line[idx])
        f = self._handle(f_id)
        f.seek(int(self._offset[idx]))
        raw = f.readline()
        try:
            text = raw.decode(self.encoding).strip()
        except UnicodeDecodeError as e:
            raise ValueError(f"TextLineDataset: '{self.files[f_id]}' line {line} is not {self.encoding}: {e}") from e
        return dict(text=text, source=f'{self.files[f_id]}:{line}', sample_idx=int(idx))

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Run the pipeline on sample ``idx``."""
        return self.pipeline(self.get_data_info(idx))

    def __getitem__(self, idx: int) -> Optional[dict]:
        return self.prepare_data(idx)
