"""Classifiers built on mmpretrain, and the zero-shot classifier over a retrieval model's text prompts."""
from .linear_probe import LinearProbeClassifier
from .text_classifier import TextClassifier
from .zero_shot import ZeroShotClassifier, build_zero_shot_classifier, read_names, read_templates

__all__ = ['LinearProbeClassifier', 'TextClassifier', 'ZeroShotClassifier', 'build_zero_shot_classifier',
           'read_names', 'read_templates']
