"""Datasets: unlabeled image folders, path-checked ImageNet / ADE20K / COCO, VL data, seq2seq text, samplers."""
from . import transforms  # noqa: F401
from .checked import ADE20KDataset, ImageNet
from .coco import CheckedCocoDataset
from .glue import GLUE_TASKS, GLUEDataset
from .polarity import PolarityDataset
from .pretrain import ImageTextPairDataset, MultiSourceDataset, MultiSourceStepSampler, TextLineDataset, WebDatasetPairs
from .robustness import ImageNetA, ImageNetR, ImageNetSketch, ImageNetV2, ImageNetVariant
from .samplers import ResumableInfiniteSampler, ResumableSampler
from .seq2seq import Seq2SeqDataset, join_wordpieces
from .text_classification import TextClassificationDataset
from .unlabeled import UnlabeledImageFolder
from .vl import NLVR2, KarpathyCaption, KarpathyRetrieval, NoCapsCaption, VQAv2

__all__ = ['GLUEDataset', 'GLUE_TASKS', 'PolarityDataset',
           'ADE20KDataset', 'ImageNet', 'CheckedCocoDataset', 'UnlabeledImageFolder', 'ResumableSampler',
           'ResumableInfiniteSampler',
           'VQAv2', 'NLVR2', 'KarpathyRetrieval', 'KarpathyCaption', 'NoCapsCaption', 'Seq2SeqDataset',
           'join_wordpieces', 'TextClassificationDataset', 'MultiSourceDataset', 'MultiSourceStepSampler',
           'ImageTextPairDataset', 'TextLineDataset', 'WebDatasetPairs',
           'ImageNetVariant', 'ImageNetA', 'ImageNetR', 'ImageNetSketch', 'ImageNetV2']
