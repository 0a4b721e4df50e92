"""Activation and norm layers from configs, so approximated operations (THE-X) plug in by config.

Common types map to torch modules directly (no registry import needed, state dict keys unchanged);
any other ``type`` is built from beitmm's ``MODELS`` registry (e.g. an HE-friendly activation or
norm registered by another beitmm module).
"""
from typing import Callable, Dict

import torch.nn as nn

from beitmm.registry import MODELS

_ACTIVATIONS: Dict[str, Callable[..., nn.Module]] = {
    'GELU': nn.GELU, 'ReLU': nn.ReLU, 'SiLU': nn.SiLU, 'Swish': nn.SiLU, 'Tanh': nn.Tanh, 'Identity': nn.Identity,
}
_LAYER_NORMS = ('LN', 'LayerNorm')


def build_activation(cfg: dict) -> nn.Module:
    """Build an activation from ``dict(type=..., **kwargs)``.

    Args:
        cfg: 'GELU' (with ``approximate``), 'ReLU', 'SiLU' / 'Swish', 'Tanh', 'Identity', or any type
            registered in beitmm's ``MODELS``.

    Returns:
        The activation module.
    """
    cfg = dict(cfg)
    kind = cfg.pop('type')
    if isinstance(kind, str) and kind in _ACTIVATIONS:
        return _ACTIVATIONS[kind](**cfg)
    return MODELS.build(dict(type=kind, **cfg))


def build_norm(cfg: dict, dim: int) -> nn.Module:
    """Build a norm over the last dimension ``dim`` from ``dict(type=..., **kwargs)``.

    Args:
        cfg: 'LN' / 'LayerNorm' (``eps``, ``elementwise_affine``), or any type registered in beitmm's
            ``MODELS`` whose constructor takes ``normalized_shape``.
        dim: Feature dimension.

    Returns:
        The norm module.
    """
    cfg = dict(cfg)
    kind = cfg.pop('type')
    if isinstance(kind, str) and kind in _LAYER_NORMS:
        cfg.pop('requires_grad', None)  # mmcv-style key some configs carry
        return nn.LayerNorm(dim, **cfg)
    return MODELS.build(dict(type=kind, normalized_shape=dim, **cfg))
