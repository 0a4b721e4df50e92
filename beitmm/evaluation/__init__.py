"""Evaluation: metrics mmpretrain / mmseg lack or get wrong (``METRICS`` location of beitmm's registry).

The vision configs use mmpretrain's ``Accuracy`` and mmseg's ``IoUMetric`` as they are (scope-prefixed
or through ``default_scope``); beitmm's own metrics register here: ``VQAAccuracy`` (official VQA accuracy,
EvalAI file), ``CaptionMetric`` (pycocoevalcap, local references) and ``RetrievalRecallMean`` (TR / IR recall
and their mean in mmpretrain's retrieval loops) and ``Seq2SeqMetric`` (ROUGE / BLEU-4 of generated text).
NLVR2 uses ``mmpretrain.Accuracy`` unchanged.
"""
from . import metrics  # noqa: F401
from .metrics import CaptionMetric, RetrievalRecallMean, Seq2SeqMetric, VQAAccuracy
from .vqa import normalize_answer, normalize_vocab_answer, vqa_accuracy

__all__ = ['metrics', 'CaptionMetric', 'RetrievalRecallMean', 'Seq2SeqMetric', 'VQAAccuracy', 'normalize_answer',
           'normalize_vocab_answer', 'vqa_accuracy']
