"""tools/model_converters/beitmm_to_hf.py: transformers 4.57 loads the folder and gives beitmm's outputs within 1e-5.

Tiny shrunk shipped configs with perturbed weights (beitmm.testing.deploy: layer scales, relative position tables,
BN statistics and heads all random). The reference is transformers' own ``BeitForImageClassification`` /
``BeitForSemanticSegmentation`` built by ``from_pretrained`` from the written folder, an independent implementation.
The segmentor reads its last block, so its HF model has one appended identity layer (beitmm.deploy.hf_config).
"""
import json
import os.path as osp
import runpy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import revert_sync_batchnorm
from safetensors.torch import load_file

from beitmm.apis import init_model
from beitmm.checkpoint import load_model_checkpoint, used_keys
from beitmm.deploy.hf_config import NotExportableError, hf_config_kwargs
from beitmm.testing.deploy import tiny_config, tiny_model_files
from beitmm.testing.shrink import ROOT

transformers = pytest.importorskip('transformers')
TOL = 1e-5


@pytest.fixture(scope='module')
def tool():
    return runpy.run_path(osp.join(ROOT, 'tools/model_converters/beitmm_to_hf.py'))['main']


def _close(label: str, got: torch.Tensor, want: torch.Tensor) -> None:
    assert got.shape == want.shape, (label, got.shape, want.shape)
    diff = (got - want).abs().max().item()
    print(f'[hf] {label}: max abs diff {diff:.2e} (values up to {want.abs().max():.2f})')
    assert diff < TOL, f'{label}: {diff:.2e}'


def _round_trip(config: str, folder: str, model: nn.Module) -> None:
    """The beitmm HF importer reads the written safetensors back into a fresh model: the same weights."""
    fresh = revert_sync_batchnorm(init_model(config)).eval()
    load_model_checkpoint(fresh, load_file(osp.join(folder, 'model.safetensors')))
    want, got = model.state_dict(), fresh.state_dict()
    differ = [k for k in used_keys(model) if not torch.equal(got[k], want[k])]
    assert not differ, differ[:5]


def test_classifier_folder_matches(tool, tmp_path):
    config, ckpt, model = tiny_model_files('cls', str(tmp_path))
    folder = str(tmp_path / 'hf')
    summary = tool([config, ckpt, folder])  # --check on: the tool compares too
    assert summary['class'] == 'BeitForImageClassification' and summary['check']['max_abs_diff'] < TOL
    hf = transformers.BeitForImageClassification.from_pretrained(folder).eval()
    c = hf.config
    assert c.architectures == ['BeitForImageClassification'] and c.use_mean_pooling and c.num_hidden_layers == 2
    assert c.layer_scale_init_value > 0 and c.use_relative_position_bias and not c.use_shared_relative_position_bias
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        _close('classifier logits', hf(pixel_values=x).logits, model(x, mode='tensor'))
    proc = json.loads(open(osp.join(folder, 'preprocessor_config.json')).read())
    assert proc['image_mean'] == [0.5] * 3 and proc['size'] == {'height': 32, 'width': 32}
    _round_trip(config, folder, model)


def test_segmentor_folder_matches(tool, tmp_path):
    config, ckpt, model = tiny_model_files('seg', str(tmp_path))
    folder = str(tmp_path / 'hf')
    summary = tool([config, ckpt, folder, '--no-check'])
    assert summary['class'] == 'BeitForSemanticSegmentation' and summary['identity_layer']
    hf = transformers.BeitForSemanticSegmentation.from_pretrained(folder).eval()
    c = hf.config
    assert c.num_hidden_layers == 5 and c.out_indices == [2, 3, 4, 5]  # blocks 0..3 + the identity layer
    assert c.id2label[0] == 'wall' and c.num_labels == 150  # ADE20K classes (mmseg's ADE20KDataset)
    aux = []
    hf.auxiliary_head.register_forward_hook(lambda m, args, out: aux.append(out))
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        logits = hf(pixel_values=x).logits  # [2, 150, 16, 16]
        pyramid = model.extract_feat(x)
        _close('decode logits (1/4)', logits, model.decode_head(pyramid))
        _close('auxiliary logits (1/4)', aux[0], model.auxiliary_head(pyramid))
        full = model.encode_decode(x, [dict(img_shape=(64, 64), pad_shape=(64, 64))])
    _close('logits at image size', F.interpolate(logits, size=(64, 64), mode='bilinear', align_corners=False), full)
    _round_trip(config, folder, model)


def test_shipped_upernet_config_is_exportable():
    """configs/beit/upernet_beit-b_ade20k.py reads blocks (3, 5, 7, 11) of 12: HF names them through layer 13."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from beitmm.engine.config_fit import resolve_widths
    from beitmm.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, 'configs/beit/upernet_beit-b_ade20k.py'))
    init_default_scope(cfg.default_scope)
    resolve_widths(cfg)
    cfg.model.backbone.init_cfg = None
    cls, kw, identity = hf_config_kwargs(revert_sync_batchnorm(MODELS.build(cfg.model)).eval())  # no weights needed
    assert cls == 'BeitForSemanticSegmentation' and identity
    assert kw['num_hidden_layers'] == 13 and kw['out_indices'] == [5, 7, 9, 13] and kw['num_labels'] == 150
    assert kw['auxiliary_channels'] == 256 and kw['pool_scales'] == [1, 2, 3, 6] and kw['image_size'] == 640


def test_refusals_name_the_reason(tmp_path):
    cfg = tiny_config('seg', str(tmp_path))
    cfg.model.decode_head.channels = 16  # HF's UperHead is as wide as the backbone
    with pytest.raises(NotExportableError, match=r'decode head FastUPerHead \(channels 16\)'):
        hf_config_kwargs(revert_sync_batchnorm(init_model(cfg)))
    cfg = tiny_config('seg', str(tmp_path))
    cfg.model.backbone.layer_scale_init_value = 0.  # the identity layer after the last block needs layer scale
    with pytest.raises(NotExportableError, match='appended identity layer'):
        hf_config_kwargs(revert_sync_batchnorm(init_model(cfg)))
    with pytest.raises(NotExportableError, match='model type Linear'):
        hf_config_kwargs(nn.Linear(2, 2))


def test_cli_refuses_a_retrieval_model(tool, tmp_path):
    config, ckpt, _ = tiny_model_files('beit3-retrieval', str(tmp_path))
    with pytest.raises(SystemExit, match='DualEncoderRetriever has no transformers BEiT counterpart'):
        tool([config, ckpt, str(tmp_path / 'hf')])
