"""Atomic file writes: a temp file next to the target, fsync, ``os.replace``; a crash keeps the old file.

A process killed during a write (SIGKILL, OOM killer, node loss) leaves its temp file ``.{name}.{8 hex}.tmp``
behind; :func:`remove_stale_temps` deletes those (``beitmm.AtomicCheckpointHook`` calls it when a run starts).
"""
import contextlib
import os
import os.path as osp
import re
import secrets
from typing import Any, Callable, List, Tuple

import torch

TEMP_NAME = re.compile(r'\.(?P<target>.+)\.[0-9a-f]{8}\.tmp')  # the temp names of temp_path, and only those


def temp_path(path: str) -> str:
    """A fresh temp file name next to ``path``: ``.{basename}.{8 hex digits}.tmp`` (matches :data:`TEMP_NAME`)."""
    return osp.join(osp.dirname(path), f'.{osp.basename(path)}.{secrets.token_hex(4)}.tmp')


def remove_stale_temps(directory: str) -> List[Tuple[str, int]]:
    """Delete the temp files that killed atomic writes left in ``directory`` (not in its subfolders).

    Only regular files whose whole name matches :data:`TEMP_NAME` are removed. Call it when no write into
    ``directory`` is under way (at the start of a run, on the process that writes there).

    Args:
        directory: The folder (a missing folder has none).

    Returns:
        list[tuple[str, int]]: Path and size in bytes of each removed file.
    """
    removed = []
    if not osp.isdir(directory):
        return removed
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if TEMP_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            size = entry.stat(follow_symlinks=False).st_size
            with contextlib.suppress(FileNotFoundError):  # gone meanwhile: nothing to do
                os.remove(entry.path)
                removed.append((entry.path, size))
    return removed


def _fsync_dir(directory: str) -> None:
    """Fsync a directory so a rename inside it is durable (no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: str, write: Callable[[Any], None]) -> None:
    """Write via ``write(fileobj)`` to a temp file next to ``path``, then rename over it."""
    path = os.fspath(path)
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = temp_path(osp.join(directory, osp.basename(path)))
    # os.open honours the umask (mkstemp would force 0600 on the final file).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_dir(directory)


def atomic_write_bytes(data: bytes, path: str) -> None:
    """Atomically replace ``path`` with ``data``.

    Args:
        data: File content.
        path: Destination; its directory is created if missing.
    """
    _atomic_write(path, lambda f: f.write(data))


def atomic_write_text(text: str, path: str, encoding: str = 'utf-8') -> None:
    """Atomically replace ``path`` with ``text``.

    Args:
        text: File content.
        path: Destination.
        encoding: Text encoding. Defaults to ``'utf-8'``.
    """
    atomic_write_bytes(text.encode(encoding), path)


def save_checkpoint_atomic(obj: Any, path: str) -> None:
    """``torch.save`` to a temp file, fsync, then ``os.replace``; a crash keeps the old file.

    Args:
        obj: Object to save (usually a checkpoint dict).
        path: Destination file.
    """
    _atomic_write(path, lambda f: torch.save(obj, f))
