"""Optimizer wrapper constructors."""
from .layer_decay import DEFAULT_NO_DECAY_NAMES, LayerDecayOptimWrapperConstructor, resolve_layer_depth_fn

__all__ = ['DEFAULT_NO_DECAY_NAMES', 'LayerDecayOptimWrapperConstructor', 'resolve_layer_depth_fn']
