"""Real HuggingFace BEiT / Data2Vec-vision checkpoints of transformers 4 and 5 in beitmm, mmpretrain and mmseg.

Each major version builds the same tiny models itself (``SPECS``: 32 channels, 2 heads, 64 px, random weights
including BN statistics, layer scales and relative position tables), runs one image in eval mode and saves the state
dicts (safetensors, the version's own key names) and the outputs. transformers 4 is the venv's
(requirements/tests.txt); transformers 5 cannot share the venv (it needs huggingface_hub >= 1.31, transformers 4
< 1.0) and lives in ``<venv>/hf5`` (requirements/hf5.txt, installed by tools/setup_env.sh), where a subprocess with
``PYTHONPATH`` pointing there runs :func:`_build_hf_models`. The tests convert the weights into beitmm models built
from small config dicts, check that nothing the model uses is missing, and compare outputs (relative max difference
< ``REL_TOL``).

The segmentation models have 5 layers, not 2: HF's ``BeitForSemanticSegmentation`` needs 4 distinct
``out_indices`` (transformers 5 rejects duplicates) and reads block ``i - 2`` for each ``i <= num_hidden_layers``
(:func:`beitmm.checkpoint.families.beit.layouts.hf_seg_out_indices`).
"""
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope
from safetensors.torch import load_file

from beitmm.checkpoint import (
    IncompleteCheckpointError,
    convert_checkpoint,
    convert_model_state_dict,
    detect_format,
    load_model_checkpoint,
    load_pretrained_backbone,
    used_keys,
)
from beitmm.checkpoint.families.beit.layouts import hf_seg_out_indices
from beitmm.testing.shrink import TINY, config_path

REL_TOL = 1e-5
HF5_DIR = Path(os.environ.get('BEITMM_HF5_DIR') or Path(sys.prefix) / 'hf5')
REPO = Path(__file__).resolve().parents[4]
COMMON = dict(hidden_size=TINY['embed_dims'], num_attention_heads=TINY['num_heads'],
              intermediate_size=TINY['feedforward_channels'], image_size=64, patch_size=16, layer_norm_eps=1e-6)
SEG = dict(num_hidden_layers=5, out_indices=[2, 3, 4, 5], use_relative_position_bias=True, num_labels=3,
           auxiliary_channels=16, pool_scales=[1, 2, 3, 6])


def _spec(cls: str, seed: int, save_pretrained: bool = False, **config) -> dict:
    """A transformers class with its config (``COMMON`` added) and weight seed; JSON, sent to the subprocess."""
    return dict(cls=cls, seed=seed, save_pretrained=save_pretrained, config=dict(COMMON, **config))


SPECS: Dict[str, dict] = {
    'cls_mean': _spec('BeitForImageClassification', 1, num_hidden_layers=2, use_relative_position_bias=True,
                      use_mean_pooling=True, num_labels=5),
    'cls_shared_abs': _spec('BeitForImageClassification', 2, num_hidden_layers=2, use_mean_pooling=True,
                            use_shared_relative_position_bias=True, use_absolute_position_embeddings=True,
                            layer_scale_init_value=0.0, num_labels=5),
    'd2v_cls_token': _spec('Data2VecVisionForImageClassification', 3, num_hidden_layers=2,
                           use_relative_position_bias=True, use_mean_pooling=False, num_labels=5),
    'mim': _spec('BeitForMaskedImageModeling', 4, num_hidden_layers=2, use_shared_relative_position_bias=True,
                 use_mask_token=True, vocab_size=64),
    'seg': _spec('BeitForSemanticSegmentation', 5, save_pretrained=True, **SEG),
    'd2v_seg': _spec('Data2VecVisionForSemanticSegmentation', 6, auxiliary_concat_input=True, **SEG),
}
CLS = [n for n, s in SPECS.items() if 'ImageClassification' in s['cls']]
SEGS = [n for n, s in SPECS.items() if 'SemanticSegmentation' in s['cls']]


def _build_hf_models(specs_json: str, out_dir: str) -> None:
    """Build every spec with the ``transformers`` on ``sys.path``, randomise, run one image and save.

    Self-contained (its source is what the transformers 5 subprocess runs). Writes ``<name>.safetensors`` (the
    model's ``state_dict()``), ``<name>.outputs.pt`` (input, hidden states, logits, ...), ``<name>.pretrained/``
    (``save_pretrained``) when the spec asks, and ``version.json``.

    Args:
        specs_json: ``SPECS`` as JSON.
        out_dir: Output directory.
    """
    import json
    import os

    import torch
    import transformers
    from safetensors.torch import save_file

    def randomise(model: torch.nn.Module, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for key, t in model.state_dict().items():
                if not t.is_floating_point():
                    continue
                noise = torch.randn(t.shape, generator=gen)
                if key.endswith('running_var'):
                    t.copy_(noise.abs() + 0.5)
                elif t.ndim == 1 and key.endswith('.weight'):  # LayerNorm / BatchNorm scale
                    t.copy_(1 + 0.2 * noise)
                else:
                    t.copy_(0.2 * noise)

    image = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    for name, spec in json.loads(specs_json).items():
        config_cls = getattr(transformers, spec['cls'].split('For')[0] + 'Config')
        model = getattr(transformers, spec['cls'])(config_cls(**spec['config'])).eval()
        randomise(model, spec['seed'])
        kwargs, pyramid = {}, []
        if 'MaskedImageModeling' in spec['cls']:
            kwargs['bool_masked_pos'] = (torch.arange(16) % 3 == 0)[None]  # [1, N]
        if hasattr(model, 'decode_head'):  # the FPN outputs, to run the auxiliary head (HF returns only its loss)
            model.decode_head.register_forward_hook(lambda m, args, out, found=pyramid: found.append(args[0]))
        with torch.no_grad():
            out = model(pixel_values=image, output_hidden_states=True, **kwargs)
            outputs = dict(kwargs, pixel_values=image, logits=out.logits,
                           hidden_states=torch.stack(list(out.hidden_states)))  # [L + 1, B, N + 1, C]
            if 'MaskedImageModeling' in spec['cls']:
                outputs['final_tokens'] = model.layernorm(out.hidden_states[-1])  # what lm_head reads
            if pyramid:
                outputs['aux_logits'] = model.auxiliary_head(pyramid[0])
        weights = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(weights, os.path.join(out_dir, f'{name}.safetensors'))
        torch.save(outputs, os.path.join(out_dir, f'{name}.outputs.pt'))
        if spec.get('save_pretrained'):
            model.save_pretrained(os.path.join(out_dir, f'{name}.pretrained'))
    with open(os.path.join(out_dir, 'version.json'), 'w') as f:
        json.dump({'transformers': transformers.__version__}, f)


def _install_hint(major: int) -> str:
    if major == 4:
        return f'run `{sys.executable} -m pip install -r {REPO}/requirements/tests.txt` (or `make setup`)'
    return (f'it cannot share the venv with transformers 4; run `make setup` (tools/setup_env.sh) or `{sys.executable} '
            f'-m pip install --target {HF5_DIR} -r {REPO}/requirements/hf5.txt -c {REPO}/requirements/runtime.txt '
            f'-c {REPO}/requirements/optional.txt`')


def _build_in_process(out_dir: Path) -> None:
    try:
        import transformers
    except ImportError:
        pytest.fail(f'transformers 4 is not installed: {_install_hint(4)}')
    if not transformers.__version__.startswith('4.'):
        pytest.fail(f'the venv has transformers {transformers.__version__}, these tests need 4.x: {_install_hint(4)}')
    _build_hf_models(json.dumps(SPECS), str(out_dir))


def _build_in_hf5_subprocess(out_dir: Path) -> None:
    if not (HF5_DIR / 'transformers' / '__init__.py').is_file():
        pytest.fail(f'transformers 5 is not installed in {HF5_DIR}: {_install_hint(5)}')
    code = inspect.getsource(_build_hf_models) + '\nimport sys\n_build_hf_models(sys.argv[1], sys.argv[2])\n'
    env = dict(os.environ, PYTHONPATH=str(HF5_DIR), HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1',
               TRANSFORMERS_VERBOSITY='error', TOKENIZERS_PARALLELISM='false')
    done = subprocess.run([sys.executable, '-c', code, json.dumps(SPECS), str(out_dir)], cwd=out_dir, env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode:
        pytest.fail(f'building the transformers 5 models failed (PYTHONPATH={HF5_DIR}):\n{done.stderr[-3000:]}')


class HFRun:
    """The saved models of one transformers major version."""

    def __init__(self, major: int, out_dir: Path) -> None:
        self.major, self.dir = major, out_dir
        self.version = json.loads((out_dir / 'version.json').read_text())['transformers']

    def state(self, name: str) -> Dict[str, torch.Tensor]:
        return load_file(str(self.dir / f'{name}.safetensors'))

    def outputs(self, name: str) -> Dict[str, torch.Tensor]:
        return torch.load(self.dir / f'{name}.outputs.pt', weights_only=True)


@pytest.fixture(scope='module', params=[4, 5], ids=['transformers4', 'transformers5'])
def hf(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> HFRun:
    """Tiny HF models built, run and saved by transformers ``request.param``.x."""
    out_dir = tmp_path_factory.mktemp(f'hf{request.param}')
    (_build_in_process if request.param == 4 else _build_in_hf5_subprocess)(out_dir)
    run = HFRun(request.param, out_dir)
    assert run.version.split('.')[0] == str(request.param), run.version
    return run


# ------------------------------------------------------------------------------------------- beitmm models
def _backbone_cfg(c: dict, **kwargs) -> dict:
    """beitmm.BEiT config of an HF config dict."""
    cfg = dict(type='beitmm.BEiT', arch=dict(TINY, num_layers=c['num_hidden_layers']), img_size=c['image_size'],
               patch_size=c['patch_size'], norm_eps=c['layer_norm_eps'],
               layer_scale_init_value=c.get('layer_scale_init_value', 0.1),
               use_abs_pos_emb=c.get('use_absolute_position_embeddings', False),
               use_rel_pos_bias=c.get('use_relative_position_bias', False),
               use_shared_rel_pos_bias=c.get('use_shared_relative_position_bias', False))
    return dict(cfg, **kwargs)


def _classifier(c: dict) -> nn.Module:
    """An mmpretrain ImageClassifier with a beitmm.BEiT: mean pooling + pooled norm, or cls token after the norm."""
    from mmpretrain.models.classifiers import ImageClassifier
    out_type = 'avg_featmap' if c.get('use_mean_pooling', True) else 'cls_token'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return ImageClassifier(backbone=_backbone_cfg(c, out_type=out_type),
                               head=dict(type='LinearClsHead', num_classes=c['num_labels'],
                                         in_channels=c['hidden_size'])).eval()


def _segmentor(c: dict) -> nn.Module:
    """An mmseg EncoderDecoder of beitmm's UperNet config (FastUPerHead + LowMemoryFCNHead), shrunk to ``c``."""
    from mmseg.models.segmentors import EncoderDecoder
    model = Config.fromfile(config_path('_base_/models/upernet_beit.py')).model
    bn, ch, size = dict(type='BN', requires_grad=True), c['hidden_size'], (c['image_size'], ) * 2
    model.backbone = _backbone_cfg(c, img_size=size, out_type='featmap',
                                   out_indices=hf_seg_out_indices(c['out_indices']))
    model.neck.update(embed_dim=ch, norm_cfg=bn)
    model.decode_head.update(in_channels=[ch] * 4, channels=ch, pool_scales=tuple(c['pool_scales']),
                             num_classes=c['num_labels'], norm_cfg=bn)  # HF's UperHead: channels = hidden_size
    model.auxiliary_head.update(in_channels=ch, channels=c['auxiliary_channels'], in_index=2, num_convs=1,
                                concat_input=c.get('auxiliary_concat_input', False), num_classes=c['num_labels'],
                                norm_cfg=bn)  # HF's BeitFCNHead(in_index=2, kernel_size=3)
    model.data_preprocessor.size = size
    model.test_cfg = dict(mode='whole')
    model.pop('type')
    with DefaultScope.overwrite_default_scope('mmseg'):
        return EncoderDecoder(**model).eval()


def _mim_backbone(c: dict) -> nn.Module:
    """beitmm.BEiT as a masked-image-modeling student: mask token, shared table, per-token final norm."""
    from beitmm.registry import MODELS
    return MODELS.build(_backbone_cfg(c, out_type='raw', use_mask_token=True)).eval()


def _block_tokens(backbone: nn.Module, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> List[torch.Tensor]:
    """Tokens [B, N + 1, C] after every block."""
    tokens, grid = backbone.embed(x, mask)
    return [t for _, t in backbone.forward_blocks(tokens, grid)]


def _rel_err(got: torch.Tensor, want: torch.Tensor) -> float:
    assert got.shape == want.shape, (got.shape, want.shape)
    return ((got - want).abs().max() / want.abs().max()).item()


def _check_close(label: str, got: torch.Tensor, want: torch.Tensor) -> None:
    err = _rel_err(got, want)
    print(f'[hf] {label}: max |diff| / max |ref| = {err:.2e}')
    assert err < REL_TOL, f'{label}: relative difference {err:.2e}'


def _check_blocks(label: str, backbone: nn.Module, out: Dict[str, torch.Tensor]) -> None:
    got = _block_tokens(backbone, out['pixel_values'], out.get('bool_masked_pos'))
    _check_close(f'{label} block tokens', torch.stack(got), out['hidden_states'][1:])


def _load(model: nn.Module, state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Load through beitmm's checkpoint loader and check every used weight came from the checkpoint."""
    converted = load_model_checkpoint(model, state)
    assert used_keys(model) <= set(converted), sorted(used_keys(model) - set(converted))
    return converted


# -------------------------------------------------------------------------------------------------- tests
def test_key_names_of_each_version(hf: HFRun):
    """The names each major version really uses, and that both are recognised as HF (also bare BeitModel dicts)."""
    cls, seg = hf.state('cls_mean'), hf.state('seg')
    if hf.major == 5:  # transformers 5 renamed the modules (modeling_beit.py)
        for key in ('beit.layers.0.attention.q_proj.weight', 'beit.layers.0.attention.o_proj.bias',
                    'beit.layers.1.lambda_1', 'beit.layers.0.mlp.fc1.weight',
                    'beit.layers.0.relative_position_bias.relative_position_bias_table'):
            assert key in cls, key
        assert 'beit.shared_position_bias.relative_position_bias_table' in hf.state('mim')
        for key in ('fpn.fpn1.conv_transpose1.weight', 'fpn.fpn2.weight',
                    'decode_head.psp_modules.blocks.0.conv.convolution.weight',
                    'decode_head.psp_bottleneck.normalization.running_var',
                    'auxiliary_head.convs.0.convolution.weight'):
            assert key in seg, key
        d2v = hf.state('d2v_seg')  # Data2VecVision kept the transformers 4 backbone and FPN, not the head names
        assert 'data2vec_vision.encoder.layer.0.attention.attention.query.weight' in d2v
        assert 'fpn1.0.weight' in d2v and 'decode_head.psp_bottleneck.convolution.weight' in d2v
        # save_pretrained writes the transformers 4 names, which the Hub files keep
        saved = load_file(str(hf.dir / 'seg.pretrained' / 'model.safetensors'))
        assert 'beit.encoder.layer.0.attention.attention.query.weight' in saved and 'fpn1.0.weight' in saved
    else:
        for key in ('beit.encoder.layer.0.attention.attention.query.weight', 'beit.encoder.layer.1.lambda_1',
                    'beit.encoder.layer.0.attention.output.dense.weight', 'beit.pooler.layernorm.weight'):
            assert key in cls, key
        for key in ('fpn1.0.weight', 'fpn1.1.running_var', 'fpn2.0.weight', 'decode_head.psp_modules.0.1.conv.weight',
                    'decode_head.bottleneck.bn.weight', 'decode_head.classifier.weight',
                    'auxiliary_head.classifier.bias'):
            assert key in seg, key
    bare = {k[len('beit.'):]: v for k, v in cls.items() if k.startswith('beit.')}  # a BeitModel state dict
    for state in (cls, seg, bare, hf.state('d2v_seg'), hf.state('mim')):
        assert detect_format(state) == 'hf'


@pytest.mark.parametrize('name', CLS)
def test_classifier_loads_and_matches(hf: HFRun, name: str):
    spec, out = SPECS[name], hf.outputs(name)
    model = _classifier(spec['config'])
    _load(model, hf.state(name))
    with torch.no_grad():
        _check_blocks(f'transformers {hf.version} {name}', model.backbone, out)
        logits = model(out['pixel_values'], mode='tensor')  # [B, num_labels]
    _check_close(f'transformers {hf.version} {name} logits', logits, out['logits'])


def test_mim_backbone_loads_and_matches(hf: HFRun):
    """BeitForMaskedImageModeling into a beitmm backbone: mask token, shared table, final per-token norm."""
    out = hf.outputs('mim')
    backbone = _mim_backbone(SPECS['mim']['config'])
    report = load_pretrained_backbone(backbone, hf.state('mim'))
    assert report.missing == [] and sorted(k for k, _ in report.dropped) == ['lm_head.bias', 'lm_head.weight']
    with torch.no_grad():
        _check_blocks(f'transformers {hf.version} mim', backbone, out)
        tokens = backbone(out['pixel_values'], out['bool_masked_pos'])[0]  # [B, N + 1, C], normalised
    _check_close(f'transformers {hf.version} mim final tokens', tokens, out['final_tokens'])


@pytest.mark.parametrize('name', SEGS)
def test_segmentor_loads_and_matches(hf: HFRun, name: str):
    """BeitForSemanticSegmentation / Data2VecVision into mmseg UperNet: FPN, UperHead, FCN head and classifiers."""
    spec, out = SPECS[name], hf.outputs(name)
    model = _segmentor(spec['config'])
    converted = _load(model, hf.state(name))
    assert not any(k.startswith('backbone.norm.') for k in converted)  # HF seg models have no final norm
    label, x = f'transformers {hf.version} {name}', out['pixel_values']
    with torch.no_grad():
        _check_blocks(label, model.backbone, out)
        pyramid = model.extract_feat(x)
        _check_close(f'{label} decode logits (1/4)', model.decode_head(pyramid), out['logits'])
        _check_close(f'{label} auxiliary logits (1/4)', model.auxiliary_head(pyramid), out['aux_logits'])
        size = tuple(x.shape[2:])
        full = model.encode_decode(x, [dict(img_shape=size, pad_shape=size, ori_shape=size)])  # [B, K, H, W]
    want = F.interpolate(out['logits'], size=size, mode='bilinear', align_corners=False)  # HF's post-processing
    _check_close(f'{label} logits at image size', full, want)


def test_save_pretrained_and_offline_conversion_agree(hf: HFRun):
    """One set of weights from ``state_dict()``, ``save_pretrained`` and the offline converter.

    ``save_pretrained`` writes transformers 4 names in both versions; the offline converter
    (tools/model_converters/convert_beit.py) has no target model.
    """
    model = _segmentor(SPECS['seg']['config'])
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    saved = load_file(str(hf.dir / 'seg.pretrained' / 'model.safetensors'))
    a, rep_a = convert_model_state_dict(hf.state('seg'), shapes)
    b, rep_b = convert_model_state_dict(saved, shapes)
    offline, rep_c = convert_checkpoint(hf.state('seg'))
    for other in (b, offline):
        assert sorted(a) == sorted(other) and all(torch.equal(a[k], other[k]) for k in a)
    assert rep_a.source_format == rep_b.source_format == rep_c.source_format == 'hf'
    assert rep_a.missing == rep_b.missing == ['backbone.norm.bias', 'backbone.norm.weight']  # frozen, unused


def test_seg_checkpoint_without_classifier_names_conv_seg(hf: HFRun):
    state = {k: v for k, v in hf.state('seg').items() if not k.startswith('decode_head.classifier.')}
    model = _segmentor(SPECS['seg']['config'])
    with pytest.raises(IncompleteCheckpointError, match=r'decode_head\.conv_seg\.weight'):
        load_model_checkpoint(model, state)
