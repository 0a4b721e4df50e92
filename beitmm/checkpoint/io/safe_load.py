"""Safe checkpoint loading: ``weights_only=True`` with an explicit allow-list, clear errors, a trust switch.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses mmengine checkpoints:
their message-hub state pickles ``HistoryBuffer`` objects holding numpy arrays and scalars,
plus ``getattr(HistoryBuffer, 'min')``-style references to its statistics methods
(open-mmlab/mmengine#1655). ``SAFE_GLOBALS`` lists exactly what an mmengine 0.10.7 training
checkpoint needs (found by loading a real Runner checkpoint and adding one reported global at a
time); ``builtins.getattr`` is never allowed as such, only through ``_history_buffer_getattr``,
which resolves the four default ``HistoryBuffer`` statistics methods and nothing else.
"""
import argparse
import contextlib
import os
import os.path as osp
import pickle
import re
from typing import Any, Callable, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from .package_path import install_package_scheme, resolve_package_path

TRUST_FLAG = '--trust-checkpoint'
_HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint needs a global that is not on the ``weights_only`` allow-list."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file is truncated or is not a torch checkpoint at all."""


def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` while unpickling: only HistoryBuffer statistics.

    Args:
        obj: Object the pickle asks an attribute of.
        name: Attribute name.

    Returns:
        Callable: ``getattr(HistoryBuffer, name)`` for ``name`` in min/max/current/mean.
    """
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Unsupported global: GLOBAL builtins.getattr({getattr(obj, "__name__", type(obj).__name__)}'
        f'.{name}) is not allowed; beitmm only allows HistoryBuffer statistics methods')


SAFE_GLOBALS: List[Union[Callable, Tuple[Callable, str]]] = [
    HistoryBuffer,
    np._core.multiarray._reconstruct,  # ndarray pickles: HistoryBuffer._log_history
    np.ndarray,
    np.dtype,
    np.dtypes.Float64DType,  # HistoryBuffer._log_history, np.float64 runtime info (eta)
    np.dtypes.Int64DType,  # HistoryBuffer._count_history
    np.dtypes.Float32DType,  # save_best on a float32 metric (mmseg IoUMetric's mIoU) -> best_score
    np._core.multiarray.scalar,  # numpy scalars in runtime info (eta)
    (_history_buffer_getattr, 'builtins.getattr'),  # HistoryBuffer.__getstate__ statistics
    argparse.Namespace,  # unilm beit2 utils.save_model stores `args` in every official checkpoint
]
TRUST_ENV = 'BEITMM_TRUST_CHECKPOINT'  # set to 1 by the tools' --trust-checkpoint


def register_safe_globals() -> None:
    """Add ``SAFE_GLOBALS`` to torch's ``weights_only`` allow-list (idempotent).

    After this, mmengine's own ``torch.load`` calls (``resume=True``, ``load_from``) read
    mmengine checkpoints with ``weights_only=True`` still in force.
    """
    torch.serialization.add_safe_globals(SAFE_GLOBALS)


@contextlib.contextmanager
def safe_globals_scope() -> Iterator[None]:
    """Temporarily allow ``SAFE_GLOBALS``; globals registered before are kept afterwards.

    ``torch.serialization.safe_globals`` removes its entries on exit even when they were
    registered globally before, which would undo ``register_safe_globals``.
    """
    present = set(torch.serialization.get_safe_globals())
    added = [g for g in SAFE_GLOBALS if g not in present]
    torch.serialization.add_safe_globals(added)
    try:
        yield
    finally:
        torch.serialization._weights_only_unpickler._remove_safe_globals(added)


_GLOBAL_PATTERNS = (
    r'Unsupported global: GLOBAL ([\w.]+(?:\([\w.]+\))?)',
    r'unsupported GLOBAL ([\w.]+)',
    r"but got <class '([\w.]+)'>",
    r'unrecognized function (<[^>]+>|\S+)',
)


def _offending_global(message: str) -> str:
    """Pull the rejected class / function name out of torch's weights-only error."""
    for pattern in _GLOBAL_PATTERNS:
        match = re.search(pattern, message, flags=re.MULTILINE)
        if match:
            return match.group(1)
    return ''


def _load_safetensors(path: str, map_location: Any) -> dict:
    """A ``.safetensors`` file as a state dict, with a clear error when it is truncated or not safetensors."""
    try:
        from safetensors.torch import load_file
    except ImportError as err:
        raise ImportError(f'{path} is a safetensors file: pip install safetensors') from err
    device = map_location if isinstance(map_location, str) else 'cpu'
    try:
        return load_file(path, device=device)
    except Exception as err:  # noqa: BLE001 - safetensors raises its own error types
        raise CorruptCheckpointError(f'Checkpoint {path} is not a readable safetensors file: {err}') from err


def load_checkpoint_file(path: str, map_location: Any = 'cpu', trusted: Optional[bool] = None) -> dict:
    """Load a checkpoint with ``weights_only=True`` under ``SAFE_GLOBALS``.

    Args:
        path: Local checkpoint file, or a file of an installed package (``'pkg://PACKAGE/REL/PATH'``,
            :mod:`.package_path`).
        map_location: Passed to ``torch.load``. Defaults to ``'cpu'``.
        trusted: Load with ``weights_only=False`` (arbitrary code execution:
            only for files whose origin you trust). Defaults to the ``BEITMM_TRUST_CHECKPOINT``
            environment variable (set by the tools' ``--trust-checkpoint``), else False.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: ``path`` does not exist (or its package is not installed).
        UnsafeCheckpointError: The file needs a global outside ``SAFE_GLOBALS`` (named in
            the message) and ``trusted`` is False.
        CorruptCheckpointError: The file is truncated or not a torch checkpoint.
    """
    path = resolve_package_path(os.fspath(path))
    if trusted is None:
        trusted = os.environ.get(TRUST_ENV, '0') == '1'
    if not osp.isfile(path):
        raise FileNotFoundError(f'Checkpoint file not found: {path}')
    if path.endswith('.safetensors'):  # HF's default format (model.safetensors): tensors only, nothing to unpickle
        return _load_safetensors(path, map_location)
    try:
        if trusted:
            return torch.load(path, map_location=map_location, weights_only=False)
        with safe_globals_scope():
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        message = str(err)
        name = _offending_global(message) if 'Weights only load failed' in message else ''
        if not name:
            raise CorruptCheckpointError(f'Checkpoint {path} is truncated or corrupt: {message}') from err
        raise UnsafeCheckpointError(
            f'Refusing to load {path}: it needs `{name}`, which is not on the beitmm weights_only '
            f'allow-list (beitmm.checkpoint.SAFE_GLOBALS). Unpickling it could run '
            f'arbitrary code. If you trust this file, load it with trusted=True (tools: '
            f'{TRUST_FLAG}).') from None
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except (RuntimeError, EOFError, ValueError, OSError) as err:  # torch 2.14: OSError EINVAL on cut zips
        raise CorruptCheckpointError(f'Checkpoint {path} is truncated or corrupt '
                                     f'({type(err).__name__}: {err})') from err


def install_checkpoint_loader() -> None:
    """Route mmengine's local checkpoint reads through :func:`load_checkpoint_file`.

    Covers ``load_from``, ``resume`` and ``Pretrained`` init: same allow-list, same clear errors, same trust switch;
    ``pkg://`` paths (:mod:`.package_path`) too.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    def load_local(filename: str, map_location: Any = None) -> dict:
        return load_checkpoint_file(osp.expanduser(filename), map_location=map_location or 'cpu')

    CheckpointLoader.register_scheme(prefixes='', loader=load_local, force=True)
    install_package_scheme()
