"""Evaluation: metrics mmpretrain / mmseg lack or get wrong (``METRICS`` location of beitmm's registry).

The vision configs use mmpretrain's ``Accuracy`` and mmseg's ``IoUMetric`` as they are (scope-prefixed
or through ``default_scope``); beitmm's own metrics register here: ``VQAAccuracy`` (official VQA accuracy,
EvalAI file), ``CaptionMetric`` (pycocoevalcap, local references) and ``RetrievalRecallMean`` (TR / IR recall
and their mean in mmpretrain's retrieval loops). NLVR2 uses ``mmpretrain.Accuracy`` unchanged.
"""
from . import metrics  # noqa: F401
from .metrics import CaptionMetric, RetrievalRecallMean, VQAAccuracy
from .vqa import normalize_answer, vqa_accuracy

__all__ = ['metrics', 'CaptionMetric', 'RetrievalRecallMean', 'VQAAccuracy', 'normalize_answer', 'vqa_accuracy']
