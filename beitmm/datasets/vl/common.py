"""Shared helpers of the vision-language datasets: checked file and text reading, cheap image-existence checks."""
import json
import os
import os.path as osp
from typing import Dict, Iterator, Optional, Sequence, Set, Tuple, Union

from beitmm.text.base import check_text  # noqa: F401  the datasets' text check, shared with the tokenizers

DEMO_HINT = 'Synthetic data in this layout: `python tools/misc/make_demo_data.py --only vl --out data/demo`.'


def join_root(data_root: Optional[str], path: str) -> str:
    """``path`` under ``data_root`` unless it is absolute (or there is no root)."""
    return path if not data_root or osp.isabs(path) else osp.join(data_root, path)


def decode_text(data: bytes, path: str, what: str, offset: int = 0, first_line: int = 1,
                encoding: str = 'utf-8') -> str:
    """Decode ``data`` (bytes of ``path`` from byte ``offset``, line ``first_line`` on), strictly.

    Args:
        data: The bytes.
        path: Their file, for the message.
        what: What the file is, for the message (e.g. "VQAv2 questions").
        offset: Byte offset of ``data`` in the file.
        first_line: Line number (1-based) of the first byte of ``data``.
        encoding: The text encoding.

    Returns:
        str: The text.

    Raises:
        ValueError: ``data`` is not ``encoding`` text; the message names the file, line and byte offset.
    """
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = first_line + data.count(b'\n', 0, e.start)
        raise ValueError(f"{what} file '{path}' is not {encoding} text: byte 0x{data[e.start]:02x} at byte offset "
                         f'{offset + e.start} (line {line}): {e.reason}. Re-encode the file as {encoding}.') from e


def iter_text_lines(path: str, what: str) -> Iterator[Tuple[int, str]]:
    """Yield ``(line_number, line)`` of a UTF-8 text file (1-based numbers, newline kept).

    Args:
        path: The file.
        what: What the file is, for the messages.

    Yields:
        tuple[int, str]: The line number and the line.

    Raises:
        ValueError: A line is not UTF-8 (the message names the file, line and byte offset).
    """
    offset = 0
    with open(path, 'rb') as f:
        for lineno, raw in enumerate(f, 1):
            yield lineno, decode_text(raw, path, what, offset, lineno)
            offset += len(raw)


def load_json(path: str, what: str, layout: str = '') -> Union[dict, list]:
    """Read one JSON document, with errors that name the file.

    Args:
        path: The file.
        what: What the file is, for the messages (e.g. "VQAv2 questions").
        layout: The expected dataset layout, appended to the not-found message.

    Returns:
        The parsed document.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not UTF-8 (naming the byte offset and line) or not valid JSON.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f"{what} file '{path}' does not exist; {layout} {DEMO_HINT}".strip())
    with open(path, 'rb') as f:
        text = decode_text(f.read(), path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{what} file '{path}' is not valid JSON: {e}") from e


def iter_json_lines(path: str, what: str, layout: str = '') -> Iterator[Tuple[int, dict]]:
    """Yield ``(line_number, object)`` of a JSON-lines file (1-based numbers, blank lines skipped).

    Args:
        path: The file.
        what: What the file is, for the messages.
        layout: The expected dataset layout, appended to the not-found message.

    Yields:
        tuple[int, dict]: The line number and the parsed line.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: A line is not UTF-8 or not valid JSON (the message names the file and line).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f"{what} file '{path}' does not exist; {layout} {DEMO_HINT}".strip())
    for lineno, line in iter_text_lines(path, what):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{what} file '{path}' line {lineno} is not valid JSON: {e}") from e


def require_keys(entry: dict, keys: Sequence[str], where: str) -> None:
    """Raise ``KeyError`` naming ``where`` if ``entry`` lacks one of ``keys``."""
    if not isinstance(entry, dict):
        raise ValueError(f'{where}: expected a JSON object, got {type(entry).__name__}')
    missing = [k for k in keys if k not in entry]
    if missing:
        raise KeyError(f'{where}: missing field(s) {missing} (has {sorted(entry)})')


def as_splits(split: Union[str, Sequence[str]], allowed: Sequence[str], dataset: str) -> Tuple[str, ...]:
    """Normalise ``split`` (one name or several) and check every name is in ``allowed``."""
    splits = (split, ) if isinstance(split, str) else tuple(split)
    bad = [s for s in splits if s not in allowed]
    if not splits or bad:
        raise ValueError(f'{dataset}: split must be one of / a list of {list(allowed)}, got {split!r}')
    if len(set(splits)) != len(splits):
        raise ValueError(f'{dataset}: split {split!r} names a split twice')
    return splits


class ImageChecker:
    """Checks that image files exist with one ``os.listdir`` per folder, cached.

    ``osp.isfile`` for each of VQAv2's 443k training questions costs one ``stat`` each on a
    possibly networked disk; listing the (82k-file) image folder once and looking names up in a
    set takes well under a second, so every path is checked when the dataset is built instead of
    failing inside a data-loader worker hours later.

    Args:
        enabled: When False, :meth:`check` does nothing (e.g. for remote file backends).
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._listing: Dict[str, Set[str]] = {}

    def exists(self, path: str) -> bool:
        """Whether the file ``path`` exists (through the cached listing of its folder)."""
        folder, name = osp.split(path)
        folder = folder or os.curdir
        if folder not in self._listing:
            self._listing[folder] = set(os.listdir(folder)) if osp.isdir(folder) else set()
        return name in self._listing[folder]

    def check(self, path: str, where: str) -> None:
        """Raise ``FileNotFoundError`` naming ``path`` and ``where`` if ``path`` does not exist.

        Args:
            path: The image file.
            where: The annotation the image belongs to (file, line / entry, id).
        """
        if self.enabled and not self.exists(path):
            folder = osp.dirname(path) or os.curdir
            hint = '' if osp.isdir(folder) else f" (the folder '{folder}' does not exist)"
            raise FileNotFoundError(f"Image '{path}' of {where} does not exist{hint}. Fix the data_root / "
                                    'layout, or pass check_images=False to skip this check.')
