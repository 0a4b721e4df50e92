"""Visualisation of what a BEiT model learned: attention maps and dVAE reconstructions."""
from .attention import attention_probs, block_attention_probs, cls_attention_maps
from .mim import mask_overlay, mim_reconstruction, to_image, upsample_grid

__all__ = [
    'attention_probs', 'block_attention_probs', 'cls_attention_maps', 'mim_reconstruction', 'mask_overlay',
    'upsample_grid', 'to_image'
]
