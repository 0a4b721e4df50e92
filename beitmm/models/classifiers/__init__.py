"""Classifiers built on mmpretrain."""
from .linear_probe import LinearProbeClassifier
from .text_classifier import TextClassifier

__all__ = ['LinearProbeClassifier', 'TextClassifier']
