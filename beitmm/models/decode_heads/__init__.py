"""Decode heads for semantic segmentation (mmseg-compatible)."""
from .fast_uper_head import FastUPerHead
from .label_check import SegLabelRangeError, out_of_range_labels
from .low_memory import LowMemoryHeadMixin, interp_matrix, upsampled_cross_entropy
from .low_memory_fcn_head import LowMemoryFCNHead

__all__ = ['LowMemoryFCNHead', 'FastUPerHead', 'SegLabelRangeError', 'out_of_range_labels', 'LowMemoryHeadMixin',
           'interp_matrix', 'upsampled_cross_entropy']
