"""Data transforms for images, texts and image-text pairs.

Masks for image modeling (blockwise / random) and for text (whole-word MLM masking, the BEiT-3 / VLMo pretraining
streams), two-view crops, robust loading, lists of images (NLVR2), BLIP's RandomAugment.
"""
from .blip_randaug import BLIPRandomAugment
from .formatting import PackMIMInputs
from .loading import CorruptImageError, RobustLoadImageFromFile
from .masking import BlockwiseMaskGenerator, RandomMaskGenerator
from .pairs import ApplyToList
from .text_masking import MaskText, PackPretrainInputs
from .two_view import TwoViewRandomResizedCrop

__all__ = ['BlockwiseMaskGenerator', 'RandomMaskGenerator', 'TwoViewRandomResizedCrop', 'PackMIMInputs',
           'RobustLoadImageFromFile', 'CorruptImageError', 'ApplyToList', 'MaskText', 'PackPretrainInputs',
           'BLIPRandomAugment']
