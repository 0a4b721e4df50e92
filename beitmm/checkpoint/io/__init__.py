"""Weight files on disk: safe reading, atomic writing, and the state-dict shapes a file is checked against.

Reading never runs code from a file: ``weights_only=True`` with an allow-list (:mod:`.safe_load`), restricted
unpicklers for OpenAI's DALL-E pickles (:mod:`.dalle_pickle`) and CLIP TorchScript archives (:mod:`.torchscript`).
Files inside installed packages are named ``pkg://PACKAGE/REL/PATH`` (:mod:`.package_path`). Writing goes through
a temp file and ``os.replace`` (:mod:`.atomic`). :mod:`.shapes` gives a model's state-dict shapes, also under FSDP.
Nothing here knows a checkpoint layout: the converters (``beitmm.checkpoint.families``) do.
"""
from .atomic import atomic_write_bytes, atomic_write_text, save_checkpoint_atomic
from .dalle_pickle import extract_dalle_part, load_dalle_file
from .package_path import install_package_scheme, package_dir, resolve_package_path
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
from .shapes import fsdp_original_shapes, model_state_shapes, module_state_shapes
from .torchscript import is_torchscript_archive, read_torchscript_state_dict

__all__ = [
    'atomic_write_bytes', 'atomic_write_text', 'save_checkpoint_atomic', 'extract_dalle_part', 'load_dalle_file',
    'SAFE_GLOBALS', 'TRUST_ENV', 'TRUST_FLAG', 'CorruptCheckpointError', 'UnsafeCheckpointError',
    'install_checkpoint_loader', 'load_checkpoint_file', 'register_safe_globals', 'safe_globals_scope',
    'fsdp_original_shapes', 'model_state_shapes', 'module_state_shapes', 'is_torchscript_archive',
    'read_torchscript_state_dict', 'install_package_scheme', 'package_dir', 'resolve_package_path'
]
