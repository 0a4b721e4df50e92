"""Read the tensors of a TorchScript archive (OpenAI's released CLIP ``.pt`` files) safely.

OpenAI distributes CLIP as ``torch.jit.save`` archives. ``torch.jit.load`` would compile the
archive's ``code/`` and run TorchScript ``__setstate__`` methods found in it; a plain
``torch.load(weights_only=False)`` would unpickle ``data.pkl`` with Python's full unpickler.
Neither is needed to get the weights. This module opens the archive as the zip file it is
and parses ``<archive>/data.pkl`` with a restricted unpickler that resolves:

- ``__torch__.*`` classes (the scripted modules) to inert :class:`ScriptObjectRecord` objects
  that only store their attribute dict; none of the archive's code is compiled or run;
- ``torch._utils._rebuild_tensor_v2`` / ``_rebuild_tensor`` / ``_rebuild_parameter`` to local
  functions that view the raw bytes of ``<archive>/data/<key>`` with the recorded dtype, size,
  stride and offset (nothing of ``torch._utils`` is called);
- ``torch.*Storage`` names to dtypes, ``collections.OrderedDict`` and the list builders of
  ``torch.jit._pickle`` to plain containers.

Any other global (``os.system``, ``builtins.eval``, ...) raises :class:`pickle.UnpicklingError`
naming it. The result is a flat ``{dotted attribute path: tensor}`` dict, e.g.
``visual.transformer.resblocks.0.attn.in_proj_weight``.
"""
import io
import pickle
import sys
import zipfile
from collections import OrderedDict
from typing import Any, Dict, List, Tuple

import torch

_STORAGE_DTYPES = {
    'FloatStorage': torch.float32, 'HalfStorage': torch.float16, 'BFloat16Storage': torch.bfloat16,
    'DoubleStorage': torch.float64, 'LongStorage': torch.int64, 'IntStorage': torch.int32,
    'ShortStorage': torch.int16, 'CharStorage': torch.int8, 'ByteStorage': torch.uint8,
    'BoolStorage': torch.bool,
}


class ScriptObjectRecord:
    """Inert stand-in for a scripted module or object: keeps its pickled attributes only."""

    script_class = ''  # '__torch__.<qualified name>' of the replaced class

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(
                f'unexpected pickled state of type {type(state).__name__} for {self.script_class}')
        self.__dict__.update(state)


_RECORDS: Dict[str, type] = {}


def _record_class(qualname: str) -> type:
    if qualname not in _RECORDS:
        _RECORDS[qualname] = type(qualname.rsplit('.', 1)[-1], (ScriptObjectRecord, ), {'script_class': qualname})
    return _RECORDS[qualname]


class _StorageRef:
    """Raw bytes of one tensor storage of the archive, viewed as a flat tensor of ``dtype``."""

    def __init__(self, flat: torch.Tensor) -> None:
        self.flat = flat


def _rebuild_tensor(storage: _StorageRef, offset: int, size: Tuple[int, ...], stride: Tuple[int, ...],
                    *_ignored: Any) -> torch.Tensor:
    """Tensor view of ``storage`` (copied, so the archive buffer can be released)."""
    if not isinstance(storage, _StorageRef):
        raise pickle.UnpicklingError(f'tensor rebuilt from a {type(storage).__name__}, not an archive storage')
    return storage.flat.as_strided(tuple(size), tuple(stride), offset).clone()


def _rebuild_parameter(data: torch.Tensor, requires_grad: bool, *_ignored: Any) -> torch.Tensor:
    return data


def _build_list(*args: Any) -> List[Any]:
    return list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)


def _restore_type_tag(value: Any, type_str: str) -> Any:
    return value


_ALLOWED = {
    ('collections', 'OrderedDict'): OrderedDict,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
    ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
    ('torch.jit._pickle', 'build_intlist'): _build_list,
    ('torch.jit._pickle', 'build_doublelist'): _build_list,
    ('torch.jit._pickle', 'build_boollist'): _build_list,
    ('torch.jit._pickle', 'build_tensorlist'): _build_list,
    ('torch.jit._pickle', 'build_genericlist'): _build_list,
    ('torch.jit._pickle', 'restore_type_tag'): _restore_type_tag,
}


class _ArchiveUnpickler(pickle.Unpickler):
    """Restricted unpickler of a TorchScript ``data.pkl`` (see module docstring)."""

    def __init__(self, file: io.BytesIO, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(file)
        self.archive, self.prefix = archive, prefix
        self.storages: Dict[str, _StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == '__torch__' or module.startswith('__torch__.'):
            return _record_class(f'{module}.{name}')
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == 'torch' and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(
            f'Refusing to unpickle global {module}.{name}: not allowed in a TorchScript weight archive')

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == 'storage'):
            raise pickle.UnpicklingError(f'unsupported persistent id {pid!r} in the archive')
        _, dtype, key, _location, numel = pid[:5]
        if not isinstance(dtype, torch.dtype):
            raise pickle.UnpicklingError(f'storage {key} has no known dtype ({dtype!r})')
        if key not in self.storages:
            raw = bytearray(self.archive.read(f'{self.prefix}data/{key}'))
            flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
            if flat.numel() < numel:
                raise pickle.UnpicklingError(f'storage {key} holds {flat.numel()} values, {numel} expected')
            self.storages[key] = _StorageRef(flat)
        return self.storages[key]


def is_torchscript_archive(path: str) -> bool:
    """True when ``path`` is a zip holding TorchScript code (``*/code/``) next to ``*/data.pkl``."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any('/code/' in n for n in names) and any(n.endswith('/data.pkl') for n in names)


def _collect(obj: Any, prefix: str, out: 'OrderedDict[str, torch.Tensor]') -> None:
    if isinstance(obj, torch.Tensor):
        out[prefix[:-1]] = obj
    elif isinstance(obj, ScriptObjectRecord):
        for name, value in obj.__dict__.items():
            _collect(value, f'{prefix}{name}.', out)


def read_torchscript_state_dict(path: str) -> 'OrderedDict[str, torch.Tensor]':
    """Tensors of a TorchScript archive by attribute path, without running any of its code.

    Args:
        path: A ``torch.jit.save`` archive (e.g. OpenAI's ``ViT-B-16.pt``).

    Returns:
        ``{name: tensor}`` for every tensor attribute of the scripted module tree (parameters,
        buffers and tensor attributes alike), on CPU, in the archive's dtype.

    Raises:
        pickle.UnpicklingError: ``data.pkl`` names a global outside the allow-list.
        ValueError: The archive is not a TorchScript archive or is big-endian.
    """
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        data = [n for n in names if n.endswith('/data.pkl') and n.count('/') == 1]
        if not data:
            raise ValueError(f'{path} is not a TorchScript archive (no <name>/data.pkl)')
        prefix = data[0][:-len('data.pkl')]
        if f'{prefix}byteorder' in names:
            order = archive.read(f'{prefix}byteorder').decode().strip()
            if order != sys.byteorder:
                raise ValueError(f'{path} was saved {order}-endian; this machine is {sys.byteorder}-endian')
        root = _ArchiveUnpickler(io.BytesIO(archive.read(data[0])), archive, prefix).load()
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    _collect(root, '', out)
    return out
