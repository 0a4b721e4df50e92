"""Data transforms: BEiT-style masked image modeling, robust loading, image pairs, BLIP's RandomAugment."""
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
