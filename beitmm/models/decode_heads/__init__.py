"""Decode heads for semantic segmentation (mmseg-compatible)."""
from .checkpoint_fcn_head import CheckpointFCNHead
from .fast_uper_head import FastUPerHead
from .low_memory import LowMemoryHeadMixin, interp_matrix, upsampled_cross_entropy

__all__ = ['CheckpointFCNHead', 'FastUPerHead', 'LowMemoryHeadMixin', 'interp_matrix', 'upsampled_cross_entropy']
