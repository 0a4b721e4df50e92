"""Vision-language datasets in their released layouts: VQAv2, NLVR2, the Karpathy COCO / Flickr30K splits, NoCaps."""
from .answers import read_answer_file, soft_score, soft_targets, vqa_answer_vocabulary, write_answer_file
from .karpathy import KarpathyCaption, KarpathyRetrieval
from .nlvr2 import NLVR2
from .nocaps import NoCapsCaption
from .vqav2 import VQAv2

__all__ = ['VQAv2', 'NLVR2', 'KarpathyRetrieval', 'KarpathyCaption', 'NoCapsCaption', 'soft_score', 'soft_targets',
           'vqa_answer_vocabulary', 'read_answer_file', 'write_answer_file']
