"""FeatureTarget maths, and MaskDistill as a config of the unified MIM algorithm."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmengine.structures import BaseDataElement

from beitmm.models.targets import FeatureTarget
from beitmm.registry import MODELS
from beitmm.testing.shrink import TINY

CLIP = dict(type='beitmm.CLIPViT', arch=dict(embed_dims=32, num_layers=1, num_heads=2, output_dims=24), img_size=32)


def test_layernorm_without_affine_values():
    torch.manual_seed(0)
    target = FeatureTarget(teacher=CLIP, normalize='layernorm', eps=1e-6)
    img = torch.randn(2, 3, 32, 32)
    raw = target.teacher(img)  # [2, 4, 24]
    mean, var = raw.mean(-1, keepdim=True), raw.var(-1, unbiased=False, keepdim=True)
    out = target(img)
    torch.testing.assert_close(out, (raw - mean) / (var + 1e-6).sqrt())
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std(-1, unbiased=False), torch.ones(2, 4), atol=1e-4, rtol=0)
    assert not any(p.requires_grad for p in target.parameters())
    assert len(list(target.parameters())) > 0 and not target.train().training
    plain = FeatureTarget(teacher=CLIP, normalize='none')
    plain.load_state_dict(target.state_dict())
    torch.testing.assert_close(plain(img), raw)


def test_patch_pixel_values():
    img = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).reshape(2, 3, 32, 32) % 7
    out = FeatureTarget(normalize='patch_pixel', student_patch_size=16, eps=1e-6)(img)
    assert out.shape == (2, 4, 16 * 16 * 3)
    patch = img[1, :, 16:32, 0:16].permute(1, 2, 0).reshape(-1)  # bottom-left patch = index 2, (py, px, c)
    torch.testing.assert_close(out[1, 2], (patch - patch.mean()) / (patch.var() + 1e-6).sqrt())
    raw = FeatureTarget(normalize='none', student_patch_size=16)(img)
    torch.testing.assert_close(raw[1, 2], patch)
    with pytest.raises(ValueError, match='patch_pixel'):
        FeatureTarget(teacher=CLIP, normalize='patch_pixel')


def test_teacher_resolution_and_student_grid():
    seen = {}
    target = FeatureTarget(teacher=CLIP, normalize='none', student_patch_size=32, teacher_img_size=48)
    target.teacher.register_forward_pre_hook(lambda m, a: seen.update(shape=tuple(a[0].shape)))
    img = torch.randn(2, 3, 64, 64)
    out = target(img)  # teacher: 48 px -> 3x3 tokens; student: 64 / 32 -> 2x2 grid
    assert seen['shape'] == (2, 3, 48, 48) and out.shape == (2, 4, 24)
    small = F.interpolate(img, size=(48, 48), mode='bicubic', align_corners=False, antialias=True)
    fmap = target.teacher(small).transpose(1, 2).reshape(2, 24, 3, 3)
    expect = F.interpolate(fmap, size=(2, 2), mode='bilinear', align_corners=False).flatten(2).transpose(1, 2)
    torch.testing.assert_close(out, expect)


def test_reduced_precision_teacher():
    torch.manual_seed(0)
    full = FeatureTarget(teacher=CLIP)
    half = FeatureTarget(teacher=CLIP, autocast_dtype='bfloat16')
    half.load_state_dict(full.state_dict())
    img = torch.randn(1, 3, 32, 32)
    out = half(img)
    assert out.dtype == torch.float32
    assert (out - full(img)).abs().mean() < 0.05  # bf16 rounding only


def test_beitmm_checkpoint_teacher(tmp_path):
    src = MODELS.build(dict(type='beitmm.BEiT', arch=TINY, img_size=32, out_type='raw'))
    src.init_weights()
    torch.save({'state_dict': {'backbone.' + k: v for k, v in src.state_dict().items()}}, tmp_path / 'pt.pth')
    target = FeatureTarget(teacher=dict(type='beitmm.BEiT', arch=TINY, img_size=32), normalize='none',
                           teacher_checkpoint=str(tmp_path / 'pt.pth'))
    img = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expect = src(img)[-1][:, 1:]  # last block, final norm, cls removed
    torch.testing.assert_close(target(img), expect)
    assert target.out_channels == 32


def build_maskdistill():
    model = MODELS.build(dict(
        type='beitmm.MaskedImageModeling',
        data_preprocessor=dict(type='beitmm.TwoViewDataPreprocessor'),
        backbone=dict(type='beitmm.BEiT', arch=TINY, img_size=32, out_type='raw', use_mask_token=True,
                      use_rel_pos_bias=False, use_shared_rel_pos_bias=True, drop_path_rate=0.1),
        head=dict(type='beitmm.MIMHead', in_channels=32, out_channels=24,
                  loss=dict(type='beitmm.FeatureRegressionLoss', kind='smooth_l1', beta=1.0)),
        target_generator=dict(type='beitmm.FeatureTarget', teacher=CLIP, normalize='layernorm')))
    model.init_weights()
    return model


def test_loss_only_on_masked_positions():
    torch.manual_seed(0)
    model = build_maskdistill().eval()  # eval: drop path off, so two forwards agree
    img = torch.randn(2, 3, 32, 32)
    mask = torch.tensor([[True, False, False, True], [False, True, False, False]])
    samples = [BaseDataElement(mask=m.view(2, 2)) for m in mask]
    target = model.targets(img)  # [2, 4, 24]
    base = model.loss([img, img], samples)['loss']
    changed = target.clone()
    changed[~mask] = torch.randn_like(changed[~mask]) * 10
    model.targets = lambda view: changed
    torch.testing.assert_close(model.loss([img, img], samples)['loss'], base)
    changed2 = target.clone()
    changed2[0, 0] += 5
    model.targets = lambda view: changed2
    assert model.loss([img, img], samples)['loss'] > base + 0.1


def test_teacher_frozen_absent_from_optimizer_and_checkpoint():
    model = build_maskdistill()
    model.train()
    assert not model.target_generator.training and not model.target_generator.teacher.training
    wrapper = build_optim_wrapper(model, dict(
        type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
        constructor='beitmm.LayerDecayOptimWrapperConstructor', paramwise_cfg=dict(layer_decay_rate=1.0)))
    in_optim = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    teacher = list(model.target_generator.parameters())
    assert teacher and not any(id(p) in in_optim for p in teacher)
    assert all(id(p) in in_optim for p in model.backbone.parameters() if p.requires_grad)
    assert not any(k.startswith('target_generator.') for k in model.state_dict())
    before = [p.clone() for p in teacher]
    img = torch.randn(2, 3, 32, 32)
    samples = [BaseDataElement(mask=torch.tensor([[True, False], [False, True]])) for _ in range(2)]
    wrapper.update_params(model.loss([img, img], samples)['loss'])
    assert all(torch.equal(a, b) for a, b in zip(before, teacher, strict=True))
    assert all(p.grad is None for p in teacher)
