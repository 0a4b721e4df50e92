"""ImageNet robustness test sets (ImageNet-A / -R / -Sketch / -V2) in their released layouts, and their class lists."""
from .variants import VARIANTS, ImageNetA, ImageNetR, ImageNetSketch, ImageNetV2, ImageNetVariant, subset_indices
from .wnids import IMAGENET_1K_WNIDS, IMAGENET_A_WNIDS, IMAGENET_R_WNIDS

__all__ = ['ImageNetVariant', 'ImageNetA', 'ImageNetR', 'ImageNetSketch', 'ImageNetV2', 'VARIANTS', 'subset_indices',
           'IMAGENET_1K_WNIDS', 'IMAGENET_A_WNIDS', 'IMAGENET_R_WNIDS']
