"""The released BEiT / BEiT v2 files load into ViTDet's windowed backbone with zero missing keys.

Detection builds ``beitmm.BEiT`` at 1024 px (a 64 x 64 grid) with window blocks whose tables cover one 14 x 14
window (the 224-px pretraining grid) and global blocks whose tables cover the whole grid. Here at tiny scale: the
checkpoints have a 4 x 4 grid (64 px), the detector a 10 x 10 grid (160 px) with 4 x 4 windows in block 0 and
global attention in block 1. The window table must be the checkpoint's, unresized; the global one the BEiT
geometric resize of it; the cls token is kept (frozen, unused) so nothing is missing.
"""
import pytest
import torch

from beitmm.checkpoint import load_pretrained_backbone
from beitmm.models.backbones import BEiT
from beitmm.pos_embed import resize_rel_pos_bias_table

from .ckpt_fakes import DEPTH, HEADS, C, official

TABLE = 'blocks.{}.attn.relative_position_bias_table'


def _det_backbone(**kw) -> BEiT:
    return BEiT(arch=dict(embed_dims=C, num_layers=DEPTH, num_heads=HEADS, feedforward_channels=4 * C),
                img_size=160, out_type='featmap', with_cls_token=False, window_size=4, window_block_indexes=[0], **kw)


@pytest.mark.parametrize('layout', ['beit_pt22k_ft22k', 'beitv2_pt1k'])
def test_released_layouts_load_whole(layout):
    if layout == 'beit_pt22k_ft22k':  # fine-tuned file: per-layer tables, fc_norm, a 21841-way head
        ckpt = official(per_layer=True, fc_norm=True, head=7)
        tables = [ckpt[TABLE.format(i)] for i in range(DEPTH)]
    else:  # BEiT v2 pretraining file: one shared table, mask token, LM head
        ckpt = official(shared=True, per_layer=False, mask_token=True, lm_head=True)
        tables = [ckpt['rel_pos_bias.relative_position_bias_table']] * DEPTH
    m = _det_backbone()
    report = load_pretrained_backbone(m, {'model': ckpt})
    assert report.missing == [] and report.unexpected == []
    state = m.state_dict()
    assert state[TABLE.format(0)].shape == tables[0].shape  # window table: one 4 x 4 window, copied as is
    assert torch.equal(state[TABLE.format(0)], tables[0])
    assert torch.equal(state[TABLE.format(1)], resize_rel_pos_bias_table(tables[1], (4, 4), (10, 10)))
    assert torch.equal(state['cls_token'], ckpt['cls_token']) and not m.cls_token.requires_grad
    assert torch.equal(state['blocks.1.attn.qkv.weight'], ckpt['blocks.1.attn.qkv.weight'])
    out = m(torch.randn(1, 3, 160, 160))
    assert len(out) == 1 and out[0].shape == (1, C, 10, 10)


def test_windows_need_patch_tokens_only():
    with pytest.raises(ValueError, match='with_cls_token=False'):
        BEiT(arch='tiny', img_size=64, window_size=2, window_block_indexes=[0], out_type='featmap')
    with pytest.raises(ValueError, match='window_size'):
        BEiT(arch='tiny', img_size=64, window_block_indexes=[0], with_cls_token=False, out_type='featmap')
    with pytest.raises(ValueError, match="out_type='raw'"):
        BEiT(arch='tiny', img_size=64, with_cls_token=False, out_type='raw')
    with pytest.raises(ValueError, match='out of range'):
        BEiT(arch='tiny', img_size=64, window_size=2, window_block_indexes=[12], with_cls_token=False,
             out_type='featmap')


def test_another_familys_checkpoint_is_refused_by_name():
    from beitmm.checkpoint import IncompleteCheckpointError
    bert = {'bert.embeddings.word_embeddings.weight': torch.randn(10, C),
            'bert.encoder.layer.0.attention.self.query.weight': torch.randn(C, C)}
    with pytest.raises(IncompleteCheckpointError, match='blocks.0.attn.qkv.weight'):
        load_pretrained_backbone(_det_backbone(), {'model': bert})


def test_whole_model_conversion_keeps_the_window_tables():
    """``load_from`` goes through ``convert_model``: the window table stays one window, the global one is resized."""
    from beitmm.checkpoint import BEiTConverter
    m = _det_backbone()
    ckpt = official(per_layer=True, fc_norm=True)
    shapes = {f'backbone.{k}': v.shape for k, v in m.state_dict().items()}
    out, report = BEiTConverter().convert_model(ckpt, shapes, 'backbone.', m.checkpoint_target())
    assert torch.equal(out['backbone.' + TABLE.format(0)], ckpt[TABLE.format(0)])
    assert out['backbone.' + TABLE.format(1)].shape == shapes['backbone.' + TABLE.format(1)]
