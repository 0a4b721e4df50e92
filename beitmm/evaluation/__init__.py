"""Evaluation: metrics mmpretrain / mmseg lack or get wrong (``METRICS`` location of beitmm's registry).

The vision configs use mmpretrain's ``Accuracy`` and mmseg's ``IoUMetric`` as they are (scope-prefixed
or through ``default_scope``); beitmm's own metrics register here.
"""
from . import metrics  # noqa: F401

__all__ = ['metrics']
