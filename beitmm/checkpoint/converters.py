"""Checkpoint conversion found by protocol: a backbone names its converter, nothing asks its class.

A backbone that can load foreign checkpoint layouts declares two things:

- ``checkpoint_converter``: the name of a converter registered here (``'beit'`` for
  ``beitmm.BEiT``), or a :class:`CheckpointConverter` instance;
- ``checkpoint_target()``: a :class:`ConversionTarget` (its ``{key: shape}``, patch grid and
  pooling), which is all a converter may know of the model.

``beitmm.CheckpointConvertHook`` (``load_from``), ``init_cfg=dict(type='Pretrained')``,
``beitmm.apis.init_model`` and frozen teachers find the converter with :func:`converter_for`, so a
new backbone family plugs in by registering a converter, without touching any of them. This
package imports neither ``beitmm.models`` nor ``beitmm.engine``.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from .report import ConversionReport

StateDict = Dict[str, Tensor]
_WRAPPER_KEYS = ('state_dict', 'model', 'module')


@dataclass
class ConversionTarget:
    """What a converter may know about the backbone it converts for.

    Attributes:
        shapes: ``{key: shape}`` of the backbone's state dict.
        grid: Patch grid (H, W) the backbone's position tables are built for, if any.
        pooled_norm: The backbone's final ``norm`` is applied after mean pooling (unilm's
            ``fc_norm``); a pretraining checkpoint's per-token final norm then does not fit it.
        extra: Family-specific facts (e.g. text positions of a multimodal backbone).
    """
    shapes: Dict[str, torch.Size]
    grid: Optional[Tuple[int, int]] = None
    pooled_norm: bool = False
    extra: Dict[str, object] = field(default_factory=dict)


class CheckpointConverter:
    """Base of the converters of one backbone family (pure ``state_dict -> state_dict`` functions).

    Subclasses implement :meth:`convert_backbone` and :meth:`convert_model`; both return the
    converted dict (target keys only, target shapes) and a :class:`ConversionReport`.
    """

    name = ''

    def convert_backbone(self, state_dict: Mapping[str, Tensor], target: ConversionTarget,
                         strict: bool = False) -> Tuple[StateDict, ConversionReport]:
        """Convert a backbone (or whole-model) checkpoint to the backbone's keys.

        Args:
            state_dict: Flat source state dict of any layout of the family.
            target: The backbone's :class:`ConversionTarget`.
            strict: Raise when keys are missing or unexpected.

        Returns:
            The backbone state dict and the report.
        """
        raise NotImplementedError(f'{type(self).__name__} does not convert backbone checkpoints')

    def convert_model(self, state_dict: Mapping[str, Tensor], shapes: Mapping[str, torch.Size],
                      backbone_prefix: str, target: ConversionTarget,
                      strict: bool = False) -> Tuple[StateDict, ConversionReport]:
        """Convert a whole-model or bare-backbone checkpoint to a whole model's keys.

        Args:
            state_dict: Flat source state dict.
            shapes: ``{key: shape}`` of the whole model.
            backbone_prefix: Where the backbone sits in the model (e.g. ``'backbone.'``).
            target: The backbone's :class:`ConversionTarget`.
            strict: Raise when backbone keys are missing or unexpected.

        Returns:
            The model state dict (keys the model lacks dropped) and the report, whose ``dropped``
            / ``reinitialised`` rows say why each left-out key was left out.
        """
        raise NotImplementedError(f'{type(self).__name__} does not convert whole-model checkpoints')


_CONVERTERS: Dict[str, CheckpointConverter] = {}


def register_converter(name: str) -> Callable[[type], type]:
    """Class decorator registering a :class:`CheckpointConverter` subclass under ``name``.

    Args:
        name: The name backbones give in ``checkpoint_converter``.

    Returns:
        The decorator.
    """
    def wrap(cls: type) -> type:
        if name in _CONVERTERS:
            raise KeyError(f'a checkpoint converter named {name!r} is already registered '
                           f'({type(_CONVERTERS[name]).__name__})')
        cls.name = name
        _CONVERTERS[name] = cls()
        return cls
    return wrap


def registered_converters() -> Tuple[str, ...]:
    """Names of the registered converters."""
    _import_builtin()
    return tuple(sorted(_CONVERTERS))


def _import_builtin() -> None:
    from . import beit3_convert, beit_convert, bert_convert, vlmo_convert  # noqa: F401  register 'beit3', 'beit', 'bert', 'vlmo'


def converter_for(module: object) -> Optional[CheckpointConverter]:
    """The converter a module declares, or None when it declares none.

    Args:
        module: Usually a backbone.

    Returns:
        The :class:`CheckpointConverter`, or None (load such a module's checkpoints as they are).

    Raises:
        KeyError: The module names a converter that is not registered.
    """
    spec: Union[None, str, CheckpointConverter] = getattr(module, 'checkpoint_converter', None)
    if spec is None or isinstance(spec, CheckpointConverter):
        return spec
    _import_builtin()
    if spec not in _CONVERTERS:
        raise KeyError(f'{type(module).__name__} declares checkpoint_converter={spec!r}, which is not registered; '
                       f'known: {sorted(_CONVERTERS)}')
    return _CONVERTERS[spec]


def unwrap_checkpoint(obj: Mapping, wrapper_keys: Sequence[str] = _WRAPPER_KEYS,
                      skip_non_tensors: bool = False) -> StateDict:
    """Extract the flat tensor state dict from a loaded checkpoint.

    Args:
        obj: Result of ``torch.load``: a plain state dict or a checkpoint keeping it under
            ``'state_dict'`` (mmengine), ``'model'`` (unilm) or ``'module'`` (some BEiT v2 files),
            possibly nested (``{'model': {'module': ...}}``).
        wrapper_keys: The wrapper keys looked for, first match (teachers add DINO's ``'teacher'``).
        skip_non_tensors: Leave out non-tensor entries (e.g. DINO's full checkpoints) instead of raising.

    Returns:
        The state dict, with a leading ``'module.'`` (DataParallel) stripped from its keys.

    Raises:
        TypeError: ``obj`` is not a mapping, or holds a non-tensor where weights are expected.
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f'expected a checkpoint mapping, got {type(obj)}')
    for _ in range(3):
        inner = next((obj[k] for k in wrapper_keys if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    state = {}
    for key, value in obj.items():
        if not isinstance(value, Tensor):
            if skip_non_tensors:
                continue
            raise TypeError(f'checkpoint entry {key!r} is a {type(value).__name__}, not a tensor: this is not a '
                            f'state dict (expected the weights at the top level or under one of {_WRAPPER_KEYS})')
        state[key[len('module.'):] if key.startswith('module.') else key] = value
    return state
