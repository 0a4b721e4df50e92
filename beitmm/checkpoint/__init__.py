"""Weight files: safe loading, atomic saving, format detection and conversion.

The one home of everything that reads, writes or converts checkpoints:

- :mod:`.io`: files on disk (safe loading, restricted unpicklers, atomic writes, state-dict shapes);
- :mod:`.converters`, :mod:`.report`, :mod:`.load`: the conversion framework (a backbone names its converter, the
  loaders work for any backbone family that registers one);
- :mod:`.families`: one module per backbone family (``beit``, ``beit3``, ``bert``, ``vlmo``), each registering its
  converter in ``beitmm.registry.CHECKPOINT_CONVERTERS``.

``beitmm.models`` and ``beitmm.engine`` import it; it imports neither, only torch, mmengine, ``beitmm.registry`` and
:mod:`beitmm.pos_embed` (the position-table geometry the converters share with the models).
"""
# the position-table geometry lives in beitmm.pos_embed (the models use it too); re-exported here, where it was
from beitmm.pos_embed import resize_abs_pos_embed, resize_rel_pos_bias_table, resize_vlmo_table, vlmo_table_rows

from .converters import (
                           CheckpointConverter,
                           ConversionTarget,
                           converter_for,
                           register_converter,
                           registered_converters,
                           unwrap_checkpoint,
)
from .families.beit import (
                           FORMATS,
                           BEiTConverter,
                           convert_backbone_state_dict,
                           convert_checkpoint,
                           convert_layout,
                           convert_model_state_dict,
                           detect_format,
                           hf_seg_out_indices,
                           is_pretraining_checkpoint,
)
from .families.vlmo import VLMoConverter, convert_vlmo_backbone
from .io import (
                           SAFE_GLOBALS,
                           TRUST_ENV,
                           TRUST_FLAG,
                           CorruptCheckpointError,
                           UnsafeCheckpointError,
                           atomic_write_bytes,
                           atomic_write_text,
                           extract_dalle_part,
                           fsdp_original_shapes,
                           install_checkpoint_loader,
                           is_torchscript_archive,
                           load_checkpoint_file,
                           load_dalle_file,
                           module_state_shapes,
                           read_torchscript_state_dict,
                           register_safe_globals,
                           safe_globals_scope,
                           save_checkpoint_atomic,
)
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
from .report import ConversionReport

__all__ = [
    'atomic_write_bytes', 'atomic_write_text', 'save_checkpoint_atomic', 'BEiTConverter', 'convert_backbone_state_dict',
    'convert_checkpoint', 'convert_layout', 'convert_model_state_dict', 'is_pretraining_checkpoint', 'FORMATS',
    'detect_format', 'hf_seg_out_indices', 'CheckpointConverter', 'ConversionTarget', 'converter_for',
    'register_converter', 'registered_converters', 'unwrap_checkpoint', 'extract_dalle_part', 'load_dalle_file',
    'IncompleteCheckpointError', 'check_complete', 'convert_state_for_model', 'load_model_checkpoint',
    'load_pretrained_backbone', 'init_from_pretrained_cfg', 'read_state_dict', 'used_keys', 'resize_abs_pos_embed',
    'resize_rel_pos_bias_table', 'ConversionReport', 'SAFE_GLOBALS', 'TRUST_ENV', 'TRUST_FLAG',
    'CorruptCheckpointError', 'UnsafeCheckpointError', 'install_checkpoint_loader', 'load_checkpoint_file',
    'register_safe_globals', 'safe_globals_scope', 'is_torchscript_archive', 'read_torchscript_state_dict',
    'VLMoConverter', 'convert_vlmo_backbone', 'resize_vlmo_table', 'vlmo_table_rows', 'fsdp_original_shapes',
    'module_state_shapes'
]
