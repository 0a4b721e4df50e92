"""Safe loading of OpenAI DALL-E dVAE weights.

OpenAI released ``encoder.pkl`` / ``decoder.pkl`` as ``torch.save`` pickles of whole
``dall_e.encoder.Encoder`` / ``dall_e.decoder.Decoder`` modules. Unpickling them with
plain ``torch.load(weights_only=False)`` would import ``dall_e`` and could execute any
callable named in the file. Here a restricted unpickler allows only torch's tensor
rebuild functions, ``OrderedDict`` and a few plain values; the module classes of the
DALL-E graph are replaced by inert :class:`PickledModuleRecord` objects that only keep
their ``__dict__``, from which the parameters are collected. Every other global raises
:class:`pickle.UnpicklingError` naming it. ``dall_e`` need not be installed.

Plain state dicts (mmpretrain's converted ``dalle_encoder.pth``, beitmm checkpoints) are
read with ``torch.load(weights_only=True)``.
"""
import _compat_pickle
import os
import os.path as osp
import pickle
import types
import warnings
from collections import OrderedDict
from typing import Any, Dict

import torch

# Globals resolved to the real object: tensor / parameter rebuilding and plain containers.
_ALLOWED_GLOBALS = {
    ('collections', 'OrderedDict'): OrderedDict,
    ('builtins', 'set'): set,
    ('builtins', 'frozenset'): frozenset,
    ('torch', 'device'): torch.device,
    ('torch', 'Size'): torch.Size,
    ('torch._utils', '_rebuild_tensor'): torch._utils._rebuild_tensor,
    ('torch._utils', '_rebuild_tensor_v2'): torch._utils._rebuild_tensor_v2,
    ('torch._utils', '_rebuild_parameter'): torch._utils._rebuild_parameter,
    ('torch._utils', '_rebuild_parameter_with_state'): torch._utils._rebuild_parameter_with_state,
}

# Module classes of the DALL-E object graph, replaced by inert records.
_MODULE_CLASSES = {
    'dall_e.encoder': {'Encoder', 'EncoderBlock'},
    'dall_e.decoder': {'Decoder', 'DecoderBlock'},
    'dall_e.utils': {'Conv2d'},
    'torch.nn.modules.container': {'Sequential'},
    'torch.nn.modules.activation': {'ReLU'},
    'torch.nn.modules.pooling': {'MaxPool2d'},
    'torch.nn.modules.linear': {'Identity'},
    'torch.nn.modules.upsampling': {'Upsample'},
}


class PickledModuleRecord:
    """Inert stand-in for a pickled ``nn.Module``: it only stores its pickled state.

    Unpickling creates it with ``cls.__new__`` and fills ``__dict__`` from the stored
    state; it has no behaviour, so nothing of the original class ever runs.
    """

    pickled_class = ''  # 'module.QualName' of the replaced class
    dump_patches = False  # read by torch's legacy loader when it checks module sources

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict state, slot state)
            state = state[0]
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(
                f'Unexpected pickled state of type {type(state).__name__} for {self.pickled_class}')
        self.__dict__.update(state)


_RECORD_CLASSES: Dict[str, type] = {}


def _record_class(module: str, name: str) -> type:
    """Return (and cache) the record class standing in for ``module.name``."""
    key = f'{module}.{name}'
    if key not in _RECORD_CLASSES:
        _RECORD_CLASSES[key] = type(name, (PickledModuleRecord, ), {'pickled_class': key})
    return _RECORD_CLASSES[key]


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only allow-listed globals (see module docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve the pickled global ``module.name``, refusing anything outside the allow-list.

        Args:
            module: Module name recorded in the pickle (Python 2 names are mapped first).
            name: Global name inside ``module``.

        Returns:
            The allow-listed object, a ``torch`` dtype, or a record class standing in for a DALL-E module class.

        Raises:
            pickle.UnpicklingError: If the global is not allowed.
        """
        if (module, name) in _compat_pickle.NAME_MAPPING:  # protocol-2 (Python 2) names
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[(module, name)]
        if module == 'torch' and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        if name in _MODULE_CLASSES.get(module, ()):
            return _record_class(module, name)
        raise pickle.UnpicklingError(
            f'Refusing to unpickle global {module}.{name}: not allowed in a DALL-E weight file')


def _restricted_load(file: Any, **kwargs: Any) -> Any:
    return RestrictedUnpickler(file, **kwargs).load()


# Passed to ``torch.load(pickle_module=...)``: torch subclasses ``Unpickler`` (adding its
# storage handling) and calls ``load`` for the legacy format's header records.
restricted_pickle = types.SimpleNamespace(
    __name__='beitmm_restricted_pickle', Unpickler=RestrictedUnpickler, load=_restricted_load)


def module_record_state_dict(record: PickledModuleRecord, prefix: str = '') -> 'OrderedDict[str, torch.Tensor]':
    """Collect parameters and persistent buffers from a tree of module records.

    Args:
        record: Root of the unpickled module graph.
        prefix: Prefix prepended to every name. Defaults to ''.

    Returns:
        OrderedDict[str, torch.Tensor]: Names as ``nn.Module.state_dict`` would give them.
    """
    state: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    attrs = record.__dict__
    non_persistent = attrs.get('_non_persistent_buffers_set', set())
    for name, value in attrs.get('_parameters', {}).items():
        if value is not None:
            state[prefix + name] = value.detach()
    for name, value in attrs.get('_buffers', {}).items():
        if value is not None and name not in non_persistent:
            state[prefix + name] = value.detach()
    for name, child in attrs.get('_modules', {}).items():
        if child is None:
            continue
        if not isinstance(child, PickledModuleRecord):
            raise pickle.UnpicklingError(f'Unexpected submodule {prefix + name} of type {type(child).__name__}')
        state.update(module_record_state_dict(child, prefix + name + '.'))
    return state


def _local_path(path: str) -> str:
    """Download ``http(s)://`` paths once into torch's hub cache; return a local path."""
    if not path.startswith(('http://', 'https://')):
        return path
    cache_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(cache_dir, exist_ok=True)
    local = osp.join(cache_dir, osp.basename(path.split('?')[0]))
    if not osp.exists(local):
        torch.hub.download_url_to_file(path, local)
    return local


def load_dalle_file(path: str) -> 'OrderedDict[str, torch.Tensor]':
    """Read a DALL-E weight file into a flat ``{name: tensor}`` dict (on CPU).

    Accepts OpenAI's whole-module pickles (``encoder.pkl`` / ``decoder.pkl``), plain state
    dicts, and checkpoints wrapping one under ``state_dict`` / ``model`` / ``module``.

    Args:
        path: Local path or ``http(s)://`` URL.

    Returns:
        OrderedDict[str, torch.Tensor]: The tensors, with the file's own names.

    Raises:
        pickle.UnpicklingError: The file names a global outside the allow-list.
    """
    path = _local_path(path)
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError:  # whole-module pickle: use the restricted unpickler
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # legacy-format "source code changed" warnings
            obj = torch.load(path, map_location='cpu', weights_only=False, pickle_module=restricted_pickle)
    if isinstance(obj, PickledModuleRecord):
        return module_record_state_dict(obj)
    for key in ('state_dict', 'model', 'module'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise TypeError(f'{path} holds neither a DALL-E module pickle nor a state dict of tensors')
    return OrderedDict(obj)


def extract_dalle_part(state: Dict[str, torch.Tensor], part: str, source: str = '') -> Dict[str, torch.Tensor]:
    """Select the ``blocks.*`` tensors of one dVAE half from a loaded weight dict.

    Accepted names: ``blocks.*`` (OpenAI pickles, mmpretrain ``dalle_encoder.pth``),
    ``{part}.blocks.*`` (beitmm / unilm-style wrappers), optionally behind ``module.``
    or ``target_generator.`` prefixes.

    Args:
        state: Output of :func:`load_dalle_file`.
        part: ``'encoder'`` or ``'decoder'``.
        source: File name used in error messages. Defaults to ''.

    Returns:
        dict[str, torch.Tensor]: Names relative to the encoder / decoder module.
    """
    stripped = {}
    for key, value in state.items():
        for prefix in ('module.', 'target_generator.', 'tokenizer.'):
            if key.startswith(prefix):
                key = key[len(prefix):]
        stripped[key] = value
    own = {k[len(part) + 1:]: v for k, v in stripped.items() if k.startswith(f'{part}.blocks.')}
    if own:
        return own
    plain = {k: v for k, v in stripped.items() if k.startswith('blocks.')}
    if not plain:
        raise KeyError(f'No DALL-E {part} weights (keys "blocks.*" or "{part}.blocks.*") in {source or "state"}; '
                       f'first keys: {list(state)[:5]}')
    return plain
