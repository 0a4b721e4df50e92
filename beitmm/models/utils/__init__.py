"""Model utilities: position-embedding resizing and checkpoint conversion."""
from .ckpt_adapt import expand_shared_rel_pos_bias, infer_rel_pos_grid
from .ckpt_convert import (ConversionReport, convert_backbone_state_dict,
                           convert_checkpoint, convert_layout,
                           convert_model_state_dict)
from .ckpt_formats import FORMATS, detect_format, unwrap_checkpoint
from .pos_resize import resize_abs_pos_embed, resize_rel_pos_bias_table

__all__ = [
    'resize_rel_pos_bias_table', 'resize_abs_pos_embed', 'FORMATS',
    'detect_format', 'unwrap_checkpoint', 'ConversionReport',
    'convert_layout', 'expand_shared_rel_pos_bias', 'infer_rel_pos_grid',
    'convert_backbone_state_dict', 'convert_model_state_dict',
    'convert_checkpoint'
]
