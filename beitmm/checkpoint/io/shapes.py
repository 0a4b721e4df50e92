"""State-dict shapes of a module, also when FSDP shards it (its shards are flat views, its state-dict hooks collective).

Converters and resume checks compare checkpoint tensors with the model's shapes. ``module.state_dict()`` gives them
for a plain or DDP model; under FSDP (``use_orig_params=True``) a parameter is a 1-D view of this rank's shard and a
nested FSDP unit's state-dict hook must not run outside a collective, so the shapes FSDP recorded are read instead.
"""
from typing import Dict, Optional

import torch
import torch.nn as nn

FSDP_PREFIXES = ('_fsdp_wrapped_module.', '_checkpoint_wrapped_module.')  # names FSDP / its checkpointing insert


def fsdp_original_shapes(model: nn.Module) -> Dict[int, torch.Size]:
    """Original shapes of parameters sharded by FSDP (``use_orig_params=True``), by ``id`` of the parameter.

    Args:
        model: A model, possibly wrapped by FSDP (pass the wrapper: the root unit's record is on it).

    Returns:
        ``{id(param): shape}`` for every parameter FSDP manages; empty for a model without FSDP.

    Raises:
        ValueError: If FSDP flattened the parameters without keeping the originals (``use_orig_params=False``).
    """
    shapes: Dict[int, torch.Size] = {}
    for module in model.modules():
        flat = getattr(getattr(module, '_handle', None), 'flat_param', None)
        if flat is None or not hasattr(flat, '_shapes'):
            continue
        if getattr(flat, '_params', None) is None:
            raise ValueError('beitmm needs the original parameters under FSDP (layer decay, checkpoint checks): set '
                             "strategy=dict(type='FSDPStrategy', model_wrapper=dict(use_orig_params=True))")
        for param, shape in zip(flat._params, flat._shapes, strict=True):
            shapes[id(param)] = shape
    return shapes


def _has_fsdp(module: nn.Module) -> bool:
    return any(type(m).__name__.endswith('FullyShardedDataParallel') for m in module.modules())


def module_state_shapes(module: nn.Module, wrapper: Optional[nn.Module] = None) -> Dict[str, torch.Size]:
    """``{key: shape}`` of ``module``'s (unsharded) state dict.

    Args:
        module: The module (e.g. a backbone, or the model inside its wrapper).
        wrapper: The FSDP root wrapper around ``module``, when there is one (it holds the root unit's shapes).

    Returns:
        The shapes, keyed as ``module.state_dict()`` would key them without FSDP.
    """
    recorded = fsdp_original_shapes(wrapper if wrapper is not None else module)
    if not recorded and not _has_fsdp(module):
        return {k: v.shape for k, v in module.state_dict().items()}
    shapes: Dict[str, torch.Size] = {}
    for prefix, sub in module.named_modules():
        for name, param in sub.named_parameters(prefix=prefix, recurse=False):
            shapes[name] = recorded.get(id(param), param.shape)
        for name, buf in sub._buffers.items():
            if buf is not None and name not in sub._non_persistent_buffers_set:
                shapes[f'{prefix}.{name}' if prefix else name] = buf.shape
    return {clean_fsdp_name(k): shape for k, shape in shapes.items()}


def clean_fsdp_name(name: str) -> str:
    """``name`` without the parts FSDP and its activation checkpointing insert (nested units' prefixes)."""
    for fsdp_prefix in FSDP_PREFIXES:
        name = name.replace(fsdp_prefix, '')
    return name


def model_state_shapes(model: nn.Module) -> Dict[str, torch.Size]:
    """:func:`module_state_shapes` of a runner's model, inside its DDP / FSDP wrapper if it has one.

    Args:
        model: The runner's model, possibly wrapped.

    Returns:
        ``{key: shape}`` as the unwrapped model's unsharded state dict keys them.
    """
    from mmengine.model import is_model_wrapper
    inner = model.module if is_model_wrapper(model) else model
    return module_state_shapes(inner, wrapper=model)
