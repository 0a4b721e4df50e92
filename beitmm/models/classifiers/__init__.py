"""Classifiers built on mmpretrain."""
from .linear_probe import LinearProbeClassifier

__all__ = ['LinearProbeClassifier']
