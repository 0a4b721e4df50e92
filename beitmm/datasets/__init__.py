"""Datasets: unlabeled image folders, path-checked ImageNet / ADE20K, resumable samplers."""
from . import transforms  # noqa: F401
from .checked import ADE20KDataset, ImageNet
from .samplers import ResumableInfiniteSampler, ResumableSampler
from .unlabeled import UnlabeledImageFolder

__all__ = ['ADE20KDataset', 'ImageNet', 'UnlabeledImageFolder', 'ResumableSampler', 'ResumableInfiniteSampler']
