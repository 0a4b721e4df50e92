"""Visualisation of what a BEiT model learned: attention maps and dVAE reconstructions."""
from .attention import attention_probs, block_attention_probs, cls_attention_maps
from .attention_hooks import (
    attention_layers,
    call_attention_probs,
    image_attention,
    query_attention_maps,
    record_attention,
    sample_photo,
)
from .cim import cim_visualization
from .mim import mask_overlay, mim_reconstruction, mim_view_pipeline, to_image, upsample_grid

__all__ = [
    'mim_view_pipeline',
    'attention_probs', 'block_attention_probs', 'cls_attention_maps', 'mim_reconstruction', 'mask_overlay',
    'upsample_grid', 'to_image', 'cim_visualization', 'attention_layers', 'call_attention_probs', 'image_attention',
    'query_attention_maps', 'record_attention', 'sample_photo'
]
