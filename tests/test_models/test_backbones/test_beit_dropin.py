"""``type='beitmm.BEiT'`` as a drop-in for mmseg's ``BEiT`` and mmpretrain's ``BEiTViT``, with their own arguments.

The backbone configs are read from the libraries' own config files (mmseg's UperNet-BEiT base, mmpretrain's BEiT
fine-tuning benchmark); only the type is replaced, plus what a CPU test needs (width, image size). Outputs are
compared with the library's own backbone carrying the same weights.
"""
import os.path as osp

import mmpretrain
import mmseg
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from beitmm.checkpoint import convert_backbone_state_dict
from beitmm.models.backbones import BEiT
from beitmm.registry import MODELS

MMSEG_CFG = osp.join(osp.dirname(mmseg.__file__), '.mim/configs/_base_/models/upernet_beit.py')
MMPRETRAIN_CFG = osp.join(osp.dirname(mmpretrain.__file__),
                          '.mim/configs/beit/benchmarks/beit-base-p16_8xb128-coslr-100e_in1k.py')


def _copy_weights(src: torch.nn.Module, dst: BEiT) -> None:
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in src.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    state, report = convert_backbone_state_dict(src.state_dict(), dst.state_shapes())
    dst.load_state_dict(state, strict=False)
    assert not (set(report.missing) - {'norm.weight', 'norm.bias'}) and not report.unexpected, report.table()


def test_mmseg_upernet_beit_backbone_args():
    cfg = Config.fromfile(MMSEG_CFG).model.backbone.to_dict()
    cfg.update(embed_dims=32, num_heads=2, img_size=(64, 64), drop_path_rate=0.)  # CPU-sized, mmseg's own names
    with DefaultScope.overwrite_default_scope('mmseg'):
        ref = MODELS.build(dict(cfg, type='mmseg.BEiT'))
    ref.eval()  # mmseg's BEiT.train() returns None: no chaining
    ours = MODELS.build(dict(cfg, type='beitmm.BEiT')).eval()
    assert ours.out_type == 'featmap' and ours.out_indices == [3, 5, 7, 11]
    assert ours.blocks[0].gamma_1.detach().eq(0.1).all()  # init_values -> layer scale
    _copy_weights(ref, ours)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = ref(x), ours(x)
    assert len(got) == 4
    for a, b in zip(expected, got, strict=True):
        assert b.shape == (2, 32, 4, 4)
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)


def test_mmseg_upernet_beit_model_builds_and_runs():
    cfg = Config.fromfile(MMSEG_CFG).model
    cfg.backbone.update(type='beitmm.BEiT', embed_dims=32, num_heads=2, img_size=(64, 64))
    cfg.neck.embed_dim = 32
    cfg.decode_head.update(in_channels=[32] * 4, channels=16, norm_cfg=dict(type='BN'))
    cfg.auxiliary_head.update(in_channels=32, channels=8, norm_cfg=dict(type='BN'))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg).eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert logits.shape == (1, 150, 16, 16) and torch.isfinite(logits).all()


def test_mmpretrain_beitvit_args():
    cfg = Config.fromfile(MMPRETRAIN_CFG).model.backbone.to_dict()
    cfg.update(arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64), img_size=64,
               drop_path_rate=0., init_cfg=None)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ref = MODELS.build(dict(cfg, type='mmpretrain.BEiTViT'))
    ref.eval()
    ours = MODELS.build(dict(cfg, type='beitmm.BEiT')).eval()
    assert ours.out_type == 'avg_featmap'
    _copy_weights(ref, ours)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x)[-1], ref(x)[-1], rtol=1e-4, atol=1e-5)


def test_unsupported_openmmlab_values_are_named():
    arch = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
    with pytest.raises(ValueError, match="patch_norm=True is not supported.*use False"):
        BEiT(arch=arch, patch_norm=True)
    with pytest.raises(ValueError, match="bias=True"):
        BEiT(arch=arch, bias=True)
    with pytest.raises(TypeError, match="unexpected argument.*'no_such_arg'"):
        BEiT(arch=arch, no_such_arg=1)
    with pytest.raises(ValueError, match=r'final_norm=True\) is not supported'):
        BEiT(arch=arch, out_type='avg_featmap', final_norm=True)
    m = BEiT(arch=arch, img_size=32, pretrained='x.pth', norm_eval=True, frozen_stages=1, out_type='featmap',
             out_indices=(0, 1))
    assert m.init_cfg == dict(type='Pretrained', checkpoint='x.pth')
    assert not m.patch_embed.proj.weight.requires_grad and not m.blocks[0].attn.qkv.weight.requires_grad
    assert m.blocks[1].attn.qkv.weight.requires_grad
    m.train()
    assert not m.blocks[0].training and m.blocks[1].training


def test_final_norm_on_feature_maps():
    arch = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
    torch.manual_seed(0)
    plain = BEiT(arch=arch, img_size=32, out_type='featmap').eval()
    normed = BEiT(arch=arch, img_size=32, out_type='featmap', final_norm=True).eval()
    normed.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        a, b = plain(x)[0], normed(x)[0]  # [1, C, 2, 2]
    expected = plain.norm(a.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(a.shape)
    torch.testing.assert_close(b, expected)
    assert normed.norm.weight.requires_grad and not plain.norm.weight.requires_grad
