"""The THE-X converter: every other weight kept, the replacements in place, unknown modules named, the tool."""
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope

from beitmm.models.layers import Attention
from beitmm.models.the_x import THEXAffineNorm, THEXPolyGELU, THEXSoftmax, UnknownModuleError, convert_model
from beitmm.models.the_x.checkpoints import convert_from_config, weight_report
from beitmm.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def tiny_classifier(act: str = 'GELU') -> nn.Module:
    init_default_scope('mmpretrain')
    model = MODELS.build(dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='beitmm.BEiT', arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
                      img_size=32, patch_size=16, act_cfg=dict(type=act)),
        neck=None, head=dict(type='mmpretrain.LinearClsHead', num_classes=4, in_channels=32)))
    model.init_weights()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.normal_(1, .1)
                m.bias.normal_(0, .1)
    return model.eval()


def test_converter_keeps_every_other_weight_and_swaps_the_operations():
    model = tiny_classifier()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ln_keys = {f'{n}.{p}' for n, m in model.named_modules() if isinstance(m, nn.LayerNorm) for p in ('weight', 'bias')}
    conv = convert_model(model, act=dict(type='beitmm.THEXPolyGELU'), norm=dict(full=False))
    after = conv.state_dict()
    for key, value in before.items():  # the original is untouched, every non-norm weight copied as it is
        assert torch.equal(model.state_dict()[key], value)
        # non-norm weights copied; full=False with std 1: the affine map starts at the LayerNorm's gamma / beta
        assert torch.equal(after[key], value), key
    assert not any(isinstance(m, (nn.GELU, nn.LayerNorm)) for m in conv.modules())
    assert sum(isinstance(m, THEXAffineNorm) for m in conv.modules()) == 5  # 2 x (norm1, norm2) + final norm
    assert sum(isinstance(m, THEXPolyGELU) for m in conv.modules()) == 2
    attns = [m for m in conv.modules() if isinstance(m, Attention)]
    assert len(attns) == 2 and all(isinstance(a.softmax, THEXSoftmax) for a in attns)
    assert conv.backbone.blocks[1].mlp.act.monitor_name == 'backbone.blocks.1.mlp.act'
    report = weight_report(model, conv)
    assert set(report['kept']) == set(before) - ln_keys and set(report['replaced']) == ln_keys
    assert report['added'] and all('.attn.softmax.' in k or k.endswith('.mlp.act.coeffs')
                                   for k in report['added'])


def test_weight_report_catches_a_changed_weight():
    model = tiny_classifier()
    conv = convert_model(model)
    with torch.no_grad():
        conv.head.fc.weight.add_(1)
    with pytest.raises(RuntimeError, match="changed 'head.fc.weight'"):
        weight_report(model, conv)


def test_unknown_module_raises_naming_it():
    model = tiny_classifier('SiLU')
    with pytest.raises(UnknownModuleError, match=r"'backbone\.blocks\.0\.mlp\.act' of type SiLU"):
        convert_model(model)


def _tool_main():
    spec = importlib.util.spec_from_file_location('beitmm_the_x_convert', osp.join(ROOT, 'tools/the_x/convert.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def test_convert_from_config_and_tool(tmp_path):
    main = _tool_main()
    model = tiny_classifier()
    ckpt = tmp_path / 'teacher.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    cfg = osp.join(ROOT, 'configs/demo/the-x_beit-tiny_demo-stage1_cls.py')
    conv, report = convert_from_config(cfg, str(ckpt))
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(conv.backbone.patch_embed.proj.weight, model.backbone.patch_embed.proj.weight)
    assert isinstance(conv.backbone.blocks[0].mlp.act, nn.ReLU) and conv(x, mode='tensor').shape == (1, 4)
    out = tmp_path / 'converted.pth'
    main([cfg, str(ckpt), '--out', str(out)])
    saved = torch.load(out, map_location='cpu')
    assert saved['meta']['the_x']['act'] == dict(type='ReLU')
    assert all(torch.equal(saved['state_dict'][k], v) for k, v in conv.state_dict().items() if k in report['kept'])


def test_text_classifier_on_the_multiway_text_branch_converts():
    from beitmm.testing.vl import tiny_backbone, tiny_tokenizer
    model = MODELS.build(dict(type='beitmm.TextClassifier', num_classes=3, backbone=tiny_backbone('vlmo'),
                              tokenizer=tiny_tokenizer('wordpiece')))
    model.init_weights()
    model.eval()
    conv = convert_model(model)
    report = weight_report(model, conv)
    assert 'pooler.dense.weight' in report['kept'] and 'classifier.weight' in report['kept']
    assert isinstance(conv.pooler.activation, nn.ReLU)  # BERT pooler tanh (choice: ReLU)
    blocks = conv.backbone.transformer.blocks
    assert all(isinstance(b.attn.softmax, THEXSoftmax) and isinstance(b.norm2_text, THEXAffineNorm) for b in blocks)
    texts = ['a red circle', 'two blue squares left of a green triangle']  # padding: the multiplicative mask
    assert torch.isfinite(conv.logits(texts)).all() and conv.logits(texts).shape == (2, 3)

