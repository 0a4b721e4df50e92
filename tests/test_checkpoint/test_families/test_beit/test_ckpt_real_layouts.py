"""Conversion of state dicts produced by the real timm/mmpretrain/mmseg code.

Guards the fake layouts of ``ckpt_fakes`` against the libraries' actual key
names (tiny models: C=32, 2 heads, depth 2, 64 px -> 4x4 grid).
"""
import importlib

import torch

from beitmm.checkpoint import convert_backbone_state_dict, resize_rel_pos_bias_table

from .ckpt_fakes import DEPTH, HEADS, C, beitmm_shapes

SHARED = 'rel_pos_bias.relative_position_bias_table'
TABLE = 'blocks.{}.attn.relative_position_bias_table'
ARCH = dict(embed_dims=C, num_layers=DEPTH, num_heads=HEADS,
            feedforward_channels=4 * C)


def _check_clean(out, rep, fmt):
    assert rep.source_format == fmt
    assert rep.missing == [] and rep.unexpected == []
    assert all('relative_position_index' in k or 'head' in k
               for k, _ in rep.dropped), rep.dropped
    assert out['blocks.1.attn.qkv.weight'].shape == (3 * C, C)


def test_timm_beit():
    timm = importlib.import_module('timm')
    model = timm.models.beit.Beit(
        img_size=64, patch_size=16, embed_dim=C, depth=DEPTH, num_heads=HEADS,
        init_values=0.1, num_classes=5, use_abs_pos_emb=True,
        use_rel_pos_bias=False, use_shared_rel_pos_bias=True)
    sd = model.state_dict()
    out, rep = convert_backbone_state_dict(
        sd, beitmm_shapes(pos_embed=True, grid=(6, 6)))
    _check_clean(out, rep, 'timm')
    assert sorted(k for k, _ in rep.dropped) == ['head.bias', 'head.weight']
    assert torch.equal(out['norm.weight'], sd['fc_norm.weight'])
    ref = resize_rel_pos_bias_table(sd[SHARED], 4, 6)
    assert torch.equal(out[TABLE.format(1)], ref)


def test_mmpretrain_beitvit():
    importlib.import_module('mmcv')
    backbones = importlib.import_module('mmpretrain.models.backbones')
    sd = backbones.BEiTViT(arch=ARCH, img_size=64,
                           out_type='avg_featmap').state_dict()
    out, rep = convert_backbone_state_dict(sd, beitmm_shapes())
    _check_clean(out, rep, 'mmpretrain')
    assert torch.equal(out['norm.weight'], sd['ln2.weight'])
    assert torch.equal(out['blocks.1.mlp.fc1.weight'],
                       sd['layers.1.ffn.layers.0.0.weight'])
    assert torch.equal(out['patch_embed.proj.weight'],
                       sd['patch_embed.projection.weight'])
    pre = backbones.BEiTViT(arch=ARCH, img_size=64, out_type='raw',
                            final_norm=True, use_rel_pos_bias=False,
                            use_shared_rel_pos_bias=True).state_dict()
    out, rep = convert_backbone_state_dict(pre, beitmm_shapes())
    _check_clean(out, rep, 'mmpretrain')
    assert torch.equal(out['norm.bias'], pre['ln1.bias'])
    assert torch.equal(out[TABLE.format(0)], pre[SHARED])


def test_mmseg_beit():
    importlib.import_module('mmcv')
    backbones = importlib.import_module('mmseg.models.backbones')
    sd = backbones.BEiT(img_size=64, embed_dims=C, num_layers=DEPTH,
                        num_heads=HEADS, final_norm=True).state_dict()
    out, rep = convert_backbone_state_dict(sd, beitmm_shapes(grid=(5, 5)))
    assert rep.source_format == 'mmseg'
    assert rep.missing == [] and rep.unexpected == []
    assert torch.equal(out['norm.weight'], sd['ln1.weight'])
    assert torch.equal(out['blocks.0.gamma_2'], sd['layers.0.gamma_2'])
    old = sd['layers.1.attn.relative_position_bias_table']
    assert torch.equal(out[TABLE.format(1)],
                       resize_rel_pos_bias_table(old, 4, 5))
