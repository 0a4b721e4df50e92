"""BEiT-family layouts (unilm, timm, HF transformers 4 / 5, mmpretrain, mmseg, beitmm) into ``beitmm.BEiT``.

:mod:`.layouts` recognises a layout and renames its keys to beitmm's, :mod:`.adapt` fits the renamed tables to a
target model, :mod:`.convert` puts both together and registers the ``'beit'`` converter.
"""
from .convert import (
                      BEiTConverter,
                      convert_backbone_state_dict,
                      convert_checkpoint,
                      convert_layout,
                      convert_model_state_dict,
                      is_pretraining_checkpoint,
)
from .layouts import FORMATS, detect_format, hf_seg_out_indices

__all__ = [
    'BEiTConverter', 'convert_backbone_state_dict', 'convert_checkpoint', 'convert_layout', 'convert_model_state_dict',
    'is_pretraining_checkpoint', 'FORMATS', 'detect_format', 'hf_seg_out_indices'
]
