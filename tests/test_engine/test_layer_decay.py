"""Tests for beitmm.engine.optimizers.LayerDecayOptimWrapperConstructor."""
import importlib
import io
import logging
import os.path as osp
from typing import Dict, Tuple

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import CosineAnnealingLR, LinearLR, PolyLR
from mmengine.registry import DefaultScope

from beitmm.engine.optimizers import LayerDecayOptimWrapperConstructor
from beitmm.registry import OPTIM_WRAPPER_CONSTRUCTORS

C, DEPTH, RATE, LR, WD = 8, 2, 0.5, 1e-3, 0.05
# num_layers = DEPTH + 2 = 4: scale = RATE ** (3 - layer_id)
SCALE = {0: 0.125, 1: 0.25, 2: 0.5, 3: 1.0}


class FakeBlock(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(C, 3 * C, bias=False)
        self.attn.q_bias = nn.Parameter(torch.zeros(C))
        self.attn.v_bias = nn.Parameter(torch.zeros(C))
        self.attn.relative_position_bias_table = nn.Parameter(torch.zeros(12, 2))  # 2-D
        self.attn.proj = nn.Linear(C, C)
        self.mlp = nn.Module()
        self.mlp.fc1, self.mlp.fc2 = nn.Linear(C, 2 * C), nn.Linear(2 * C, C)
        self.gamma_1 = nn.Parameter(torch.ones(C))
        self.gamma_2 = nn.Parameter(torch.ones(C))


class FakeBEiT(nn.Module):
    """Parameter layout and get_layer_depth of the spec's backbone contract."""

    def __init__(self) -> None:
        super().__init__()
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, C, 4, 4)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, C))
        self.pos_embed = nn.Parameter(torch.zeros(1, 5, C))
        self.rel_pos_bias = nn.Module()
        self.rel_pos_bias.relative_position_bias_table = nn.Parameter(torch.zeros(12, 2))
        self.blocks = nn.ModuleList(FakeBlock() for _ in range(DEPTH))
        self.norm = nn.LayerNorm(C)

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        num_layers = DEPTH + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name in ('cls_token', 'mask_token', 'pos_embed') or name.startswith('patch_embed'):
            return 0, num_layers
        if name.startswith('blocks.'):
            return int(name.split('.')[1]) + 1, num_layers
        return num_layers - 1, num_layers


class Classifier(nn.Module):
    """mmpretrain ImageClassifier-like: backbone + head, with its own get_layer_depth."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone, self.head = backbone, nn.Linear(C, 10)

    def get_layer_depth(self, name: str) -> Tuple[int, int]:
        return self.backbone.get_layer_depth(name, 'backbone.')


class EncoderDecoder(nn.Module):
    """mmseg EncoderDecoder-like: backbone + neck + heads, no get_layer_depth of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = FakeBEiT()
        self.neck = nn.Sequential(nn.ConvTranspose2d(C, C, 2, 2), nn.BatchNorm2d(C))
        self.decode_head = nn.Conv2d(C, 4, 1)
        self.auxiliary_head = nn.Conv2d(C, 4, 1)


def build(model: nn.Module, **paramwise):
    paramwise.setdefault('layer_decay_rate', RATE)
    cfg = dict(type='beitmm.LayerDecayOptimWrapperConstructor',
               optim_wrapper_cfg=dict(optimizer=dict(type='AdamW', lr=LR, weight_decay=WD)),
               paramwise_cfg=paramwise)
    return OPTIM_WRAPPER_CONSTRUCTORS.build(cfg)(model)


def by_name(optim_wrapper) -> Dict[str, dict]:
    return {n: g for g in optim_wrapper.optimizer.param_groups for n in g['param_names']}


def expected_layer(name: str) -> int:
    if name.startswith(('backbone.cls_token', 'backbone.pos_embed', 'backbone.patch_embed')):
        return 0
    if name.startswith('backbone.blocks.'):
        return int(name.split('.')[2]) + 1
    return 3


def expected_wd(name: str) -> float:
    # unilm's fine-tuning default: no decay on 1-D tensors, pos_embed and cls_token only; the relative position
    # tables (2-D) and the mask token (3-D) are decayed
    decayed = ('qkv.weight', 'attn.proj.weight', 'fc1.weight', 'fc2.weight', 'patch_embed.proj.weight',
               'head.weight', 'neck.0.weight', 'decode_head.weight', 'auxiliary_head.weight',
               'relative_position_bias_table', 'mask_token')
    return WD if name.endswith(decayed) else 0.0


@pytest.mark.parametrize('make_model', [lambda: Classifier(FakeBEiT()), EncoderDecoder])
def test_lr_scale_and_weight_decay_per_param(make_model):
    model = make_model()
    groups = by_name(build(model))
    assert set(groups) == {n for n, _ in model.named_parameters()}
    for name, _ in model.named_parameters():
        group = groups[name]
        assert group['layer_id'] == expected_layer(name), name
        assert group['lr_scale'] == SCALE[expected_layer(name)], name
        assert group['lr'] == pytest.approx(LR * SCALE[expected_layer(name)], rel=1e-12), name
        assert group['weight_decay'] == expected_wd(name), name
    assert groups['backbone.rel_pos_bias.relative_position_bias_table']['lr_scale'] == 1.0
    assert groups['backbone.blocks.1.attn.relative_position_bias_table']['weight_decay'] == WD  # unilm decays it


def test_group_names_order_and_counts():
    optim_wrapper = build(EncoderDecoder())
    names = [g['group_name'] for g in optim_wrapper.optimizer.param_groups]
    assert names == ['layer_3_decay', 'layer_3_no_decay', 'layer_2_decay', 'layer_2_no_decay',
                     'layer_1_decay', 'layer_1_no_decay', 'layer_0_decay', 'layer_0_no_decay']
    first = optim_wrapper.optimizer.param_groups[0]
    assert optim_wrapper.get_lr()['lr'][0] == LR  # mmengine logs group 0: the nominal lr
    assert first['param_names'] == ['backbone.rel_pos_bias.relative_position_bias_table', 'neck.0.weight',
                                    'decode_head.weight', 'auxiliary_head.weight']
    block1_decay = optim_wrapper.optimizer.param_groups[2]
    assert block1_decay['param_names'] == ['backbone.blocks.1.attn.relative_position_bias_table'] + [
        f'backbone.blocks.1.{n}.weight' for n in ('attn.qkv', 'attn.proj', 'mlp.fc1', 'mlp.fc2')]
    assert all(len(g['params']) == len(g['param_names']) for g in optim_wrapper.optimizer.param_groups)


def test_frozen_params_never_enter_optimizer():
    model = Classifier(FakeBEiT())
    for p in model.backbone.patch_embed.parameters():
        p.requires_grad = False
    model.backbone.cls_token.requires_grad = False
    optimizer = build(model).optimizer
    in_optimizer = {id(p) for g in optimizer.param_groups for p in g['params']}
    frozen = [model.backbone.cls_token, *model.backbone.patch_embed.parameters()]
    assert not in_optimizer & {id(p) for p in frozen}
    assert len(in_optimizer) == sum(1 for p in model.parameters() if p.requires_grad)
    assert [g['param_names'] for g in optimizer.param_groups if g['layer_id'] == 0] == [['backbone.pos_embed']]


def test_bare_backbone_and_unsupported_model():
    groups = by_name(build(FakeBEiT()))  # model.get_layer_depth with prefix ''
    assert groups['cls_token']['lr_scale'] == 0.125 and groups['norm.weight']['lr_scale'] == 1.0

    class NoDepth(nn.Module):

        def __init__(self) -> None:
            super().__init__()
            self.backbone, self.head = nn.Linear(2, 2), nn.Linear(2, 2)

    with pytest.raises(TypeError, match='backbone Linear does not support layer decay'):
        build(NoDepth())


def test_custom_keys_and_no_decay_names():
    model = Classifier(FakeBEiT())
    groups = by_name(build(model, custom_keys={'head': dict(lr_mult=10.0), 'fc1': dict(decay_mult=0.5)},
                           no_decay_names=('cls_token', )))
    assert groups['head.weight']['lr'] == pytest.approx(10 * LR)
    assert groups['head.weight']['group_name'] == 'layer_3_decay_head'
    assert groups['head.bias']['weight_decay'] == 0.0  # 1-D stays undecayed
    assert groups['backbone.blocks.0.mlp.fc1.weight']['weight_decay'] == pytest.approx(0.5 * WD)
    assert groups['backbone.blocks.0.mlp.fc1.weight']['lr'] == pytest.approx(LR * 0.25)
    # pos_embed / rel-pos tables are decayed once removed from no_decay_names (ndim > 1)
    assert groups['backbone.pos_embed']['weight_decay'] == WD
    assert groups['backbone.blocks.0.attn.relative_position_bias_table']['weight_decay'] == WD


@pytest.mark.parametrize('paramwise, match', [({}, 'layer_decay_rate'),
                                              ({'layer_decay_rate': 0.5, 'norm_decay_mult': 0.}, 'norm_decay_mult'),
                                              ({'layer_decay_rate': 1.5}, r'\(0, 1\]')])
def test_bad_paramwise_cfg(paramwise, match):
    with pytest.raises(ValueError, match=match):
        LayerDecayOptimWrapperConstructor(dict(optimizer=dict(type='AdamW', lr=LR, weight_decay=WD)), paramwise)


def test_parameter_group_table_is_logged():
    logger = MMLogger.get_current_instance()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        build(EncoderDecoder(), custom_keys={'not_a_param': dict(lr_mult=2.0)})
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "custom_keys ['not_a_param'] match no trainable parameter" in text
    assert 'Layer-wise lr decay: rate=0.5' in text and '8 param groups' in text
    row = next(line for line in text.splitlines() if line.startswith('layer_0_no_decay'))
    # group, layer, lr_scale, lr, wd, #tensors (cls_token, pos_embed, patch bias), #params (8 + 40 + 8)
    assert row.split() == ['layer_0_no_decay', '0', '0.125', '1.2500e-04', '0', '3', '56']


@pytest.mark.parametrize('main', ['cosine', 'poly'])
def test_schedulers_keep_layer_ratios(main):
    optim_wrapper = build(EncoderDecoder())
    warmup = LinearLR(optim_wrapper, start_factor=0.1, by_epoch=False, begin=0, end=3)
    if main == 'cosine':
        decay = CosineAnnealingLR(optim_wrapper, T_max=5, eta_min_ratio=0.01, by_epoch=False, begin=3, end=8)
    else:
        decay = PolyLR(optim_wrapper, power=1.0, eta_min=0.0, by_epoch=False, begin=3, end=8)
    groups = optim_wrapper.optimizer.param_groups
    tops = []
    for _ in range(7):
        top = groups[0]['lr']
        tops.append(top)
        for g in groups:
            assert g['lr'] / top == pytest.approx(RATE ** (3 - g['layer_id']), rel=1e-9)
        optim_wrapper.step()  # no grads yet: a no-op that keeps torch's step-order check quiet
        warmup.step()
        decay.step()
    assert tops[0] == pytest.approx(0.1 * LR)
    assert tops[3] == pytest.approx(LR)
    assert tops[6] < tops[3]


def test_optimizer_state_roundtrip_with_weights_only(tmp_path):
    model = Classifier(FakeBEiT())
    optimizer = build(model).optimizer
    loss = sum((p ** 2).sum() for p in model.parameters())
    loss.backward()
    optimizer.step()
    path = osp.join(tmp_path, 'optim.pth')
    torch.save(optimizer.state_dict(), path)
    state = torch.load(path, weights_only=True)
    fresh = build(model).optimizer
    fresh.load_state_dict(state)
    assert [g['group_name'] for g in fresh.param_groups] == [g['group_name'] for g in optimizer.param_groups]
    assert [g['lr'] for g in fresh.param_groups] == [g['lr'] for g in optimizer.param_groups]
    qkv = model.backbone.blocks[0].attn.qkv.weight
    assert torch.equal(fresh.state[qkv]['exp_avg'], optimizer.state[qkv]['exp_avg'])




def test_real_beit_backbone():
    from beitmm.models.backbones.beit import BEiT
    backbone = BEiT(arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
                    img_size=32, patch_size=16)
    model = Classifier(backbone)
    model.head = nn.Linear(32, 10)
    groups = by_name(build(model))
    assert set(groups) == {n for n, _ in model.named_parameters()}
    for name, _ in model.named_parameters():
        assert groups[name]['lr_scale'] == SCALE[expected_layer(name)], name
        assert groups[name]['weight_decay'] == expected_wd(name), name
    assert groups['backbone.blocks.1.attn.qkv.weight']['weight_decay'] == WD
    assert groups['backbone.blocks.0.gamma_1']['weight_decay'] == 0.0


def test_real_mmseg_and_mmpretrain_wrappers():
    segmentors = importlib.import_module('mmseg.models.segmentors')
    classifiers = importlib.import_module('mmpretrain.models.classifiers')
    import beitmm.models  # noqa: F401 (registers beitmm.BEiT)
    arch = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
    backbone = dict(type='beitmm.BEiT', arch=arch, img_size=32, patch_size=16)
    with DefaultScope.overwrite_default_scope('mmseg'):  # nested builds (losses) use the current scope
        seg = segmentors.EncoderDecoder(
            backbone=dict(backbone, out_type='featmap', out_indices=(1, )),
            decode_head=dict(type='FCNHead', in_channels=32, channels=16, num_classes=4, num_convs=1, in_index=0))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        cls = classifiers.ImageClassifier(
            backbone=backbone, head=dict(type='LinearClsHead', num_classes=10, in_channels=32))
    for model, head_weight in [(seg, 'decode_head.convs.0.conv.weight'), (cls, 'head.fc.weight')]:
        groups = by_name(build(model))
        assert set(groups) == {n for n, p in model.named_parameters() if p.requires_grad}
        assert groups[head_weight]['lr_scale'] == 1.0 and groups[head_weight]['weight_decay'] == WD
        assert groups['backbone.cls_token']['lr_scale'] == 0.125
        assert groups['backbone.blocks.1.attn.proj.weight']['lr_scale'] == 0.5
        assert groups['backbone.blocks.1.norm1.bias']['weight_decay'] == 0.0
