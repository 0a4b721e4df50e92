"""``beitmm.checkpoint`` stays on the ground floor (no models, no engine) and keeps its public face."""
import ast
import glob
import os.path as osp
import subprocess
import sys

import pytest
import torch.nn as nn

import beitmm.checkpoint as checkpoint
from beitmm.checkpoint import CheckpointConverter, converter_for, register_converter, registered_converters
from beitmm.registry import CHECKPOINT_CONVERTERS

PACKAGE = osp.dirname(checkpoint.__file__)
ABOVE = ('beitmm.models', 'beitmm.engine')
GROUND = ('beitmm.checkpoint', 'beitmm.registry', 'beitmm.pos_embed', 'beitmm.version',
          'beitmm._compat')  # all it may import of beitmm (_compat: the package's stdlib-only import hook)
# beitmm.checkpoint.__all__ before issue 30 split the package: every name still resolves from the package
PUBLIC = [
    'atomic_write_bytes', 'atomic_write_text', 'save_checkpoint_atomic', 'BEiTConverter', 'convert_backbone_state_dict',
    'convert_checkpoint', 'convert_layout', 'convert_model_state_dict', 'is_pretraining_checkpoint', 'FORMATS',
    'detect_format', 'CheckpointConverter', 'ConversionTarget', 'converter_for', 'register_converter',
    'registered_converters', 'unwrap_checkpoint', 'extract_dalle_part', 'load_dalle_file',
    'IncompleteCheckpointError', 'check_complete', 'convert_state_for_model', 'load_model_checkpoint',
    'load_pretrained_backbone', 'init_from_pretrained_cfg', 'read_state_dict', 'used_keys', 'resize_abs_pos_embed',
    'resize_rel_pos_bias_table', 'ConversionReport', 'SAFE_GLOBALS', 'TRUST_ENV', 'TRUST_FLAG',
    'CorruptCheckpointError', 'UnsafeCheckpointError', 'install_checkpoint_loader', 'load_checkpoint_file',
    'register_safe_globals', 'safe_globals_scope', 'is_torchscript_archive', 'read_torchscript_state_dict',
    'VLMoConverter', 'convert_vlmo_backbone', 'resize_vlmo_table', 'vlmo_table_rows', 'fsdp_original_shapes',
    'module_state_shapes'
]


def _imported_modules(path: str) -> set:
    """Absolute names of every module ``path`` imports, at the top or inside a function."""
    package = osp.relpath(osp.dirname(path), osp.dirname(osp.dirname(PACKAGE))).replace(osp.sep, '.')  # beitmm.X
    names = set()
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit('.', node.level - 1)[0] if node.level else ''
            module = '.'.join(p for p in (base, node.module) if p)
            names |= {module} | {f'{module}.{a.name}' for a in node.names}
    return names


def test_the_import_walk_resolves_relative_imports():
    names = _imported_modules(osp.join(PACKAGE, 'families', 'vlmo.py'))
    assert {'beitmm.checkpoint.converters', 'beitmm.checkpoint.families.beit.adapt', 'beitmm.pos_embed'} <= names


def _above(names) -> list:
    return sorted(n for n in names if n.startswith('beitmm.') and not n.startswith(GROUND))


def test_no_module_of_the_package_imports_models_or_engine():
    files = sorted(glob.glob(osp.join(PACKAGE, '**', '*.py'), recursive=True))
    assert len(files) >= 15
    found = {osp.relpath(p, PACKAGE): _above(_imported_modules(p)) for p in files}
    assert not {k: v for k, v in found.items() if v}
    assert _above(['beitmm.models.backbones', 'beitmm.engine', 'beitmm.pos_embed.tables']) == [  # the check sees them
        'beitmm.engine', 'beitmm.models.backbones']


def test_a_fresh_interpreter_loads_every_converter_without_models_or_engine():
    code = ('import sys\nfrom beitmm.checkpoint import registered_converters\nprint(registered_converters())\n'
            'print(sorted(sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "('beit', 'beit3', 'bert', 'vlmo')"
    loaded = ast.literal_eval(out[1])
    assert 'beitmm.checkpoint.families.vlmo' in loaded and not _above(loaded)
    assert not [m for m in loaded if m.startswith(ABOVE)]


def test_the_public_names_of_the_package_still_resolve():
    assert not [n for n in PUBLIC if not hasattr(checkpoint, n)]
    assert set(PUBLIC) <= set(checkpoint.__all__)


def test_register_converter_is_the_registry_under_its_old_name():
    @register_converter('test-floor')
    class Converter(CheckpointConverter):
        pass

    class Backbone(nn.Module):
        checkpoint_converter = 'test-floor'

    try:
        assert CHECKPOINT_CONVERTERS.get('test-floor') is Converter and Converter.name == 'test-floor'
        assert 'test-floor' in registered_converters()
        assert type(converter_for(Backbone())) is Converter
    finally:
        CHECKPOINT_CONVERTERS._module_dict.pop('test-floor')  # mmengine has no public unregister
    with pytest.raises(KeyError, match="checkpoint_converter='test-floor', which is not registered; known: .*'vlmo'"):
        converter_for(Backbone())
