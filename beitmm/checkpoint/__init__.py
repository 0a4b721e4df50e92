"""Weight files: safe loading, atomic saving, format detection and conversion (torch + mmengine only).

The one home of everything that reads, writes or converts checkpoints. ``beitmm.models`` and
``beitmm.engine`` import it; it imports neither. Backbones name their converter
(:mod:`.converters`), so the loaders here work for any backbone family that registers one.
"""
from .atomic import atomic_write_bytes, atomic_write_text, save_checkpoint_atomic
from .beit_convert import (
                           BEiTConverter,
                           convert_backbone_state_dict,
                           convert_checkpoint,
                           convert_layout,
                           convert_model_state_dict,
                           is_pretraining_checkpoint,
)
from .beit_layouts import FORMATS, detect_format
from .converters import (
                           CheckpointConverter,
                           ConversionTarget,
                           converter_for,
                           register_converter,
                           registered_converters,
                           unwrap_checkpoint,
)
from .dalle_pickle import extract_dalle_part, load_dalle_file
from .load import (
                           IncompleteCheckpointError,
                           check_complete,
                           convert_state_for_model,
                           init_from_pretrained_cfg,
                           load_model_checkpoint,
                           load_pretrained_backbone,
                           read_state_dict,
                           used_keys,
)
from .pos_resize import resize_abs_pos_embed, resize_rel_pos_bias_table
from .report import ConversionReport
from .safe_load import (
                           SAFE_GLOBALS,
                           TRUST_ENV,
                           TRUST_FLAG,
                           CorruptCheckpointError,
                           UnsafeCheckpointError,
                           install_checkpoint_loader,
                           load_checkpoint_file,
                           register_safe_globals,
                           safe_globals_scope,
)
from .shapes import fsdp_original_shapes, module_state_shapes
from .torchscript import is_torchscript_archive, read_torchscript_state_dict
from .vlmo_convert import VLMoConverter, convert_vlmo_backbone, resize_vlmo_table, vlmo_table_rows

__all__ = [
    'atomic_write_bytes', 'atomic_write_text', 'save_checkpoint_atomic', 'BEiTConverter', 'convert_backbone_state_dict',
    'convert_checkpoint', 'convert_layout', 'convert_model_state_dict', 'is_pretraining_checkpoint', 'FORMATS',
    'detect_format', 'CheckpointConverter', 'ConversionTarget', 'converter_for', 'register_converter',
    'registered_converters', 'unwrap_checkpoint', 'extract_dalle_part', 'load_dalle_file',
    'IncompleteCheckpointError', 'check_complete', 'convert_state_for_model', 'load_model_checkpoint',
    'load_pretrained_backbone',
    'init_from_pretrained_cfg', 'read_state_dict', 'used_keys', 'resize_abs_pos_embed', 'resize_rel_pos_bias_table',
    'ConversionReport', 'SAFE_GLOBALS', 'TRUST_ENV', 'TRUST_FLAG', 'CorruptCheckpointError', 'UnsafeCheckpointError',
    'install_checkpoint_loader', 'load_checkpoint_file', 'register_safe_globals', 'safe_globals_scope',
    'is_torchscript_archive', 'read_torchscript_state_dict', 'VLMoConverter', 'convert_vlmo_backbone',
    'resize_vlmo_table', 'vlmo_table_rows', 'fsdp_original_shapes', 'module_state_shapes'
]
