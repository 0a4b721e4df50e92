"""Checkpoint conversion found by protocol: a backbone names its converter, nothing asks its class.

A backbone that can load foreign checkpoint layouts declares two things:

- ``checkpoint_converter``: the name of a converter registered in ``beitmm.registry.CHECKPOINT_CONVERTERS``
  (``'beit'`` for ``beitmm.BEiT``; the families are in :mod:`beitmm.checkpoint.families`), or a
  :class:`CheckpointConverter` instance;
- ``checkpoint_target()``: a :class:`ConversionTarget` (its ``{key: shape}``, patch grid and
  pooling), which is all a converter may know of the model.

``beitmm.CheckpointConvertHook`` (``load_from``), ``init_cfg=dict(type='Pretrained')``,
``beitmm.apis.init_model`` and frozen teachers find the converter with :func:`converter_for`, so a
new backbone family plugs in by registering a converter, without touching any of them. This
package imports neither ``beitmm.models`` nor ``beitmm.engine`` (``tests/test_checkpoint/test_floor.py``).
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from beitmm.registry import CHECKPOINT_CONVERTERS

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
    converted dict (target keys only, target shapes) and a :class:`ConversionReport`. A family registers its
    subclass with ``@CHECKPOINT_CONVERTERS.register_module(name=NAME)`` and sets ``name = NAME``
    (``tests/test_registry.py`` checks that the two agree).
    """

    name = ''  # the registry key

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


def register_converter(name: str) -> Callable[[type], type]:
    """Class decorator: ``CHECKPOINT_CONVERTERS.register_module(name=name)`` that also sets the class's ``name``.

    The families register with ``CHECKPOINT_CONVERTERS`` directly; this alias keeps code written for the earlier
    ``register_converter`` working.

    Args:
        name: The name backbones give in ``checkpoint_converter``.

    Returns:
        The decorator.
    """
    def wrap(cls: type) -> type:
        cls.name = name
        return CHECKPOINT_CONVERTERS.register_module(name=name)(cls)
    return wrap


def registered_converters() -> Tuple[str, ...]:
    """Names of the registered converters."""
    CHECKPOINT_CONVERTERS.import_from_location()
    return tuple(sorted(CHECKPOINT_CONVERTERS.module_dict))


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
    cls = CHECKPOINT_CONVERTERS.get(spec)
    if cls is None:
        raise KeyError(f'{type(module).__name__} declares checkpoint_converter={spec!r}, which is not registered; '
                       f'known: {list(registered_converters())}')
    return cls()  # converters are stateless: one per call


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
