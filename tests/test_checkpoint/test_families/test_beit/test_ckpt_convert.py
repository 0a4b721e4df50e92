"""Tests for checkpoint layout detection, conversion and the offline tool."""
import argparse
from pathlib import Path

import pytest
import torch

from beitmm.checkpoint import (
    convert_backbone_state_dict,
    convert_checkpoint,
    convert_model_state_dict,
    detect_format,
    resize_abs_pos_embed,
    resize_rel_pos_bias_table,
    unwrap_checkpoint,
)

from .ckpt_fakes import (
    DEPTH,
    HEADS,
    C,
    assert_core_equal,
    beitmm_shapes,
    load_tool,
    official,
    seg_extras,
    seg_target,
    table_rows,
    to_hf,
    to_openmmlab,
)

SHARED = 'rel_pos_bias.relative_position_bias_table'
TABLE = 'blocks.{}.attn.relative_position_bias_table'


def test_detect_format_each_layout():
    pt = official(shared=True, per_layer=False, mask_token=True, lm_head=True)
    ft = official(fc_norm=True, head=10)
    assert detect_format(pt) == 'unilm'
    assert detect_format(ft) == 'unilm'
    assert detect_format(official(fc_norm=True, head=10, index=False)) == 'timm'
    assert detect_format(official(index=False)) == 'beitmm'
    assert detect_format(to_hf(ft)) == 'hf'
    assert detect_format(to_hf(ft, 'data2vec_vision.')) == 'hf'
    mmpre = {'backbone.' + k: v for k, v in to_openmmlab(ft, 'ln2').items()}
    assert detect_format(mmpre) == 'mmpretrain'
    assert detect_format(to_openmmlab(ft, '')) == 'mmseg'
    assert detect_format(to_openmmlab(ft, 'ln1')) == 'mmseg'  # same layout
    ade = {'backbone.' + k: v for k, v in official().items()}
    assert detect_format({**ade, **seg_extras()}) == 'unilm'
    with pytest.raises(ValueError, match='unrecognised checkpoint layout'):
        detect_format({'foo.weight': torch.zeros(1)})


def test_unwrap_checkpoint():
    sd = {'module.cls_token': torch.ones(1), 'blocks.0.gamma_1': torch.ones(2)}
    for wrapped in ({'model': sd}, {'state_dict': sd, 'meta': {}},
                    {'module': sd}, sd, {'model': {'module': sd}}):
        assert sorted(unwrap_checkpoint(wrapped)) == ['blocks.0.gamma_1',
                                                      'cls_token']
    with pytest.raises(TypeError, match="'epoch' is a int"):
        unwrap_checkpoint({'epoch': 3, 'x': torch.ones(1)})


def test_official_pretrained_shared_table_to_per_layer():
    pt = official(shared=True, per_layer=False, mask_token=True, lm_head=True)
    out, rep = convert_backbone_state_dict(pt, beitmm_shapes())
    assert rep.source_format == 'unilm'
    for i in range(DEPTH):
        assert torch.equal(out[TABLE.format(i)], pt[SHARED])
    assert out[TABLE.format(0)].data_ptr() != out[TABLE.format(1)].data_ptr()
    dropped = dict(rep.dropped)
    assert 'target model has no mask token' in dropped['mask_token']
    assert 'lm_head.weight' in dropped
    assert 'rel_pos_bias.relative_position_index' in dropped
    assert rep.missing == [] and rep.unexpected == []
    assert_core_equal(out, pt)
    assert torch.equal(out['norm.weight'], pt['norm.weight'])
    # Into a pretraining model (shared table + mask token): kept as is.
    out2, rep2 = convert_backbone_state_dict(
        pt, beitmm_shapes(shared=True, per_layer=False, mask_token=True))
    assert torch.equal(out2[SHARED], pt[SHARED])
    assert torch.equal(out2['mask_token'], pt['mask_token'])
    assert rep2.missing == [] and rep2.unexpected == []


def test_official_finetuned_resized_to_larger_grid():
    ft = official(fc_norm=True, head=21841)
    out, rep = convert_backbone_state_dict(ft, beitmm_shapes(grid=(6, 6)))
    assert torch.equal(out['norm.weight'], ft['fc_norm.weight'])
    for i in range(DEPTH):
        new, old = out[TABLE.format(i)], ft[TABLE.format(i)]
        assert new.shape == (11 * 11 + 3, HEADS)
        assert torch.equal(new[-3:], old[-3:])
        assert torch.allclose(new, resize_rel_pos_bias_table(old, 4, 6))
    assert (TABLE.format(0), (52, 2), (124, 2)) in rep.resized
    assert dict(rep.dropped)['head.weight'].startswith('classification head')
    assert rep.missing == [] and rep.unexpected == []


def test_per_layer_tables_into_shared_target():
    ft = official()
    ft[TABLE.format(1)] = ft[TABLE.format(0)].clone()
    out, rep = convert_backbone_state_dict(
        ft, beitmm_shapes(shared=True, per_layer=False))
    assert torch.equal(out[SHARED], ft[TABLE.format(0)])
    assert rep.missing == [] and rep.unexpected == []
    with pytest.raises(ValueError, match='2 different per-layer'):
        convert_backbone_state_dict(
            official(), beitmm_shapes(shared=True, per_layer=False))


@pytest.mark.parametrize('prefix', ['beit.', 'data2vec_vision.'])
def test_hf_classifier_qkv_merged(prefix):
    ft = official(fc_norm=True, head=5)
    hf = to_hf(ft, prefix)
    hf[f'{prefix}encoder.layer.0.attention.attention.relative_position_bias.'
       'relative_position_index'] = torch.zeros(17, 17, dtype=torch.long)
    assert f'{prefix}encoder.layer.0.attention.attention.key.weight' in hf
    out, rep = convert_backbone_state_dict(hf, beitmm_shapes())
    assert rep.source_format == 'hf'
    assert_core_equal(out, ft)
    q = hf[f'{prefix}encoder.layer.1.attention.attention.query.weight']
    assert torch.equal(out['blocks.1.attn.qkv.weight'][:C], q)
    assert torch.equal(out['norm.bias'], ft['fc_norm.bias'])
    assert torch.equal(out[TABLE.format(1)], ft[TABLE.format(1)])
    assert dict(rep.dropped)['classifier.weight'].startswith('classification')
    assert rep.missing == [] and rep.unexpected == []


def test_hf_mim_layout_and_key_bias():
    pt = official(shared=True, per_layer=False, mask_token=True, lm_head=True)
    hf = to_hf(pt, mim=True)
    out, rep = convert_backbone_state_dict(
        hf, beitmm_shapes(shared=True, per_layer=False, mask_token=True))
    assert torch.equal(out[SHARED], pt[SHARED])
    assert torch.equal(out['mask_token'], pt['mask_token'])
    assert torch.equal(out['norm.weight'], pt['norm.weight'])  # layernorm.
    assert 'lm_head.weight' in dict(rep.dropped) and rep.missing == []
    hf['beit.encoder.layer.0.attention.attention.key.bias'] = torch.zeros(C)
    _, rep = convert_backbone_state_dict(
        hf, beitmm_shapes(shared=True, per_layer=False, mask_token=True))
    assert dict(rep.dropped)[
        'beit.encoder.layer.0.attention.attention.key.bias'] == \
        'all-zero key bias'
    hf['beit.encoder.layer.0.attention.attention.key.bias'] = torch.ones(C)
    with pytest.raises(ValueError, match='key.bias is non-zero'):
        convert_backbone_state_dict(hf, beitmm_shapes())


def test_mmpretrain_whole_model_shared_table_expanded():
    pt = official(shared=True, per_layer=False, mask_token=True)
    mm = {'backbone.' + k: v for k, v in to_openmmlab(pt, 'ln1').items()}
    assert 'backbone.layers.0.ffn.layers.0.0.weight' in mm
    mm['head.fc.weight'] = torch.randn(10, C)
    target = {'backbone.' + k: s for k, s in beitmm_shapes().items()}
    target['head.fc.weight'] = torch.Size([10, C])
    out, rep = convert_model_state_dict(mm, target)
    assert rep.source_format == 'mmpretrain'
    assert_core_equal(out, pt, 'backbone.')
    assert torch.equal(out['backbone.norm.weight'], pt['norm.weight'])
    assert torch.equal(out['backbone.' + TABLE.format(1)], pt[SHARED])
    assert torch.equal(out['head.fc.weight'], mm['head.fc.weight'])
    assert 'backbone.mask_token' in dict(rep.dropped)
    assert rep.missing == [] and rep.unexpected == []


def test_mmseg_bare_and_whole_model():
    ft = official()
    seg = to_openmmlab(ft, 'ln1')  # mmseg final_norm=True names it ln1
    out, rep = convert_backbone_state_dict(seg, beitmm_shapes())
    assert rep.source_format == 'mmseg' and rep.missing == []
    assert_core_equal(out, ft)
    assert torch.equal(out['norm.weight'], ft['norm.weight'])
    _, rep = convert_backbone_state_dict(to_openmmlab(ft, ''), beitmm_shapes())
    assert rep.missing == ['norm.bias', 'norm.weight']  # final_norm=False
    whole = {'backbone.' + k: v for k, v in seg.items()}
    whole['neck.upsample_4x.0.weight'] = torch.randn(C, C, 2, 2)
    target = {'backbone.' + k: s for k, s in beitmm_shapes().items()}
    target['neck.upsample_4x.0.weight'] = torch.Size([C, C, 2, 2])
    out, rep = convert_model_state_dict(whole, target)
    assert torch.equal(out['neck.upsample_4x.0.weight'],
                       whole['neck.upsample_4x.0.weight'])
    assert rep.missing == [] and rep.unexpected == []


def test_official_ade20k_whole_model():
    ckpt = {'backbone.' + k: v for k, v in official().items()}
    ckpt.update(seg_extras())
    out, rep = convert_model_state_dict(ckpt, seg_target())
    for src, dst in (('backbone.fpn1.1.running_var',
                      'neck.upsample_4x.1.running_var'),
                     ('backbone.fpn1.1.num_batches_tracked',
                      'neck.upsample_4x.1.num_batches_tracked'),
                     ('backbone.fpn1.3.weight', 'neck.upsample_4x.3.weight'),
                     ('backbone.fpn2.0.bias', 'neck.upsample_2x.0.bias'),
                     ('decode_head.conv_seg.weight',
                      'decode_head.conv_seg.weight')):
        assert torch.equal(out[dst], ckpt[src]), dst
    assert 'backbone.blocks.0.attn.relative_position_index' in dict(
        rep.dropped)
    assert rep.missing == [] and rep.unexpected == []
    flat, _ = convert_checkpoint(ckpt)  # offline tool path, no target
    assert torch.equal(flat['neck.upsample_2x.0.bias'],
                       ckpt['backbone.fpn2.0.bias'])
    assert 'backbone.' + TABLE.format(0) in flat
    assert not any('index' in k or 'fpn' in k for k in flat)
    # Another class count: heads reported as re-initialised (not missing), backbone resized.
    out, rep = convert_model_state_dict(ckpt, seg_target(19, (6, 6)))
    assert 'decode_head.conv_seg.weight' not in out and 'decode_head.conv_seg.weight' not in rep.missing
    assert 'task changed' in dict(rep.reinitialised)['decode_head.conv_seg.weight']
    assert out['backbone.' + TABLE.format(0)].shape == (124, HEADS)
    assert ('backbone.' + TABLE.format(1), (52, 2), (124, 2)) in rep.resized


def test_bare_checkpoint_head_into_whole_model():
    ft = official(fc_norm=True, head=21841)
    target = {'backbone.' + k: s for k, s in beitmm_shapes().items()}
    target['head.fc.weight'] = torch.Size([1000, C])
    target['head.fc.bias'] = torch.Size([1000])
    out, rep = convert_model_state_dict(ft, target)
    assert rep.missing == [] and 'head.fc.weight' not in out
    assert sorted(dict(rep.reinitialised)) == ['head.fc.bias', 'head.fc.weight']
    assert 'task changed' in dict(rep.reinitialised)['head.fc.weight']
    assert_core_equal(out, ft, 'backbone.')
    target['head.fc.weight'] = torch.Size([21841, C])
    target['head.fc.bias'] = torch.Size([21841])
    out, rep = convert_model_state_dict(ft, target)
    assert torch.equal(out['head.fc.weight'], ft['head.weight'])
    assert rep.missing == []


def test_timm_pos_embed_resized_and_dropped():
    timm = official(fc_norm=True, head=3, index=False, pos_embed=True)
    out, rep = convert_backbone_state_dict(
        timm, beitmm_shapes(pos_embed=True, grid=(6, 6)))
    assert rep.source_format == 'timm'
    assert torch.allclose(out['pos_embed'],
                          resize_abs_pos_embed(timm['pos_embed'], 4, 6))
    assert ('pos_embed', (1, 17, C), (1, 37, C)) in rep.resized
    _, rep = convert_backbone_state_dict(timm, beitmm_shapes())
    assert 'no absolute position' in dict(rep.dropped)['pos_embed']


def test_square_source_to_non_square_target():
    ft = official()
    shapes = beitmm_shapes(grid=(4, 6))
    assert shapes[TABLE.format(0)][0] == 7 * 11 + 3
    with pytest.raises(ValueError, match=r'dst_grid=\(H, W\)'):
        convert_backbone_state_dict(ft, shapes)
    out, rep = convert_backbone_state_dict(ft, shapes, dst_grid=(4, 6))
    ref = resize_rel_pos_bias_table(ft[TABLE.format(0)], (4, 4), (4, 6))
    assert torch.allclose(out[TABLE.format(0)], ref)
    # With a pos_embed the target grid's factorisation is pinned, but the
    # orientation (4x6 vs 6x4) is not: still asks for dst_grid.
    with pytest.raises(ValueError, match='dst_grid'):
        convert_backbone_state_dict(ft, beitmm_shapes(grid=(4, 6),
                                                      pos_embed=True))


def test_shape_errors_name_key_and_fix():
    wide = {k: (torch.Size([s[0] * 2, *s[1:]]) if k.endswith('qkv.weight')
                else s) for k, s in beitmm_shapes().items()}
    with pytest.raises(ValueError, match=r'blocks\.0\.attn\.qkv\.weight: '
                       r'checkpoint \(96, 32\) vs model \(192, 32\).*arch'):
        convert_backbone_state_dict(official(), wide)
    heads = dict(beitmm_shapes())
    heads[TABLE.format(0)] = torch.Size([table_rows((6, 6)), 4])
    with pytest.raises(ValueError, match='num_heads=2'):
        convert_backbone_state_dict(official(), heads)
    with pytest.raises(ValueError, match='lacks|does not cover'):
        convert_backbone_state_dict(official(per_layer=False),
                                    beitmm_shapes(), strict=True)


def test_report_table_lists_everything():
    pt = official(shared=True, per_layer=False, mask_token=True, lm_head=True)
    _, rep = convert_backbone_state_dict(pt, beitmm_shapes(grid=(5, 5)))
    text = rep.table()
    assert 'source format: unilm' in text and 'resized: 2' in text
    assert f'{TABLE.format(1)}  (52, 2) -> (84, 2)' in text
    assert 'lm_head.bias' in text and 'note: shared' in text


def test_offline_tool(tmp_path, capsys):
    tool = load_tool()
    pt = official(shared=True, per_layer=False, mask_token=True, lm_head=True)
    src, dst = tmp_path / 'pt.pth', tmp_path / 'out.pth'
    torch.save({'model': to_hf(pt, mim=True)}, src)
    tool.main([str(src), str(dst), '--expand-rel-pos', str(DEPTH),
               '--window', '5'])
    out = torch.load(dst, map_location='cpu', weights_only=True)
    assert out[TABLE.format(1)].shape == (table_rows((5, 5)), HEADS)
    assert torch.equal(out['mask_token'], pt['mask_token'])
    assert SHARED not in out and 'source format: hf' in capsys.readouterr().out
    assert not Path(str(dst) + '.tmp').exists()
    ref, _ = convert_checkpoint(pt, expand_depth=DEPTH, dst_grid=(5, 5))
    assert torch.allclose(out[TABLE.format(0)], ref[TABLE.format(0)])
    pickled = tmp_path / 'unsafe.pth'
    torch.save({'model': pt, 'args': argparse.Namespace(lr=1)}, pickled)  # official unilm: allow-listed
    tool.main([str(pickled), str(tmp_path / 'from_unilm.pth')])
    assert (tmp_path / 'from_unilm.pth').exists()
    torch.save({'model': pt, 'extra': UnsafeThing()}, pickled)
    with pytest.raises(SystemExit, match='unpickling'):
        tool.main([str(pickled), str(tmp_path / 'never.pth')])
    assert not (tmp_path / 'never.pth').exists()


class UnsafeThing:
    """Any class outside the allow-list: converting a file that holds it is refused."""
