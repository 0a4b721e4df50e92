"""beitmm.BEiT: shapes, masking, equivalence with timm's independent implementation."""
import importlib

import pytest
import torch

from beitmm.checkpoint import convert_backbone_state_dict
from beitmm.models.backbones.beit import BEiT
from beitmm.testing.shrink import TINY


def tiny(**kw):
    kw.setdefault('arch', TINY)
    kw.setdefault('img_size', 64)
    m = BEiT(**kw)
    m.init_weights()
    return m


def randomize(model: torch.nn.Module, seed: int = 0) -> None:
    """Random values everywhere, so a mis-mapped tensor cannot hide behind zeros or ones."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)


def test_arch_zoo_and_errors():
    m = BEiT(arch='base')
    assert (m.embed_dims, m.num_layers, m.num_heads) == (768, 12, 12)
    assert BEiT(arch='l').num_layers == 24
    with pytest.raises(ValueError, match='unknown BEiT arch'):
        BEiT(arch='huge-ish')
    with pytest.raises(ValueError, match='out_type'):
        BEiT(arch=TINY, out_type='pooled')
    with pytest.raises(ValueError, match='out_indices'):
        BEiT(arch=TINY, out_indices=(5, ))
    with pytest.raises(ValueError, match='multiple of patch_size'):
        BEiT(arch=TINY, img_size=70)


def test_official_layout_keys():
    m = tiny(use_mask_token=True, use_shared_rel_pos_bias=True, use_rel_pos_bias=False)
    keys = set(m.state_dict())
    assert {'cls_token', 'mask_token', 'patch_embed.proj.weight', 'rel_pos_bias.relative_position_bias_table',
            'blocks.0.attn.qkv.weight', 'blocks.0.attn.q_bias', 'blocks.0.attn.v_bias', 'blocks.1.gamma_2',
            'blocks.1.mlp.fc2.weight', 'norm.weight'} <= keys
    assert not any('relative_position_index' in k or 'k_bias' in k for k in keys)
    assert m.state_dict()['rel_pos_bias.relative_position_bias_table'].shape == (7 * 7 + 3, 2)
    ft = tiny()
    assert ft.state_dict()['blocks.1.attn.relative_position_bias_table'].shape == (7 * 7 + 3, 2)
    assert 'mask_token' not in ft.state_dict() and 'pos_embed' not in ft.state_dict()


@pytest.mark.parametrize('out_type,shape', [('avg_featmap', (2, 32)), ('cls_token', (2, 32)),
                                            ('raw', (2, 17, 32)), ('featmap', (2, 32, 4, 4))])
def test_output_types(out_type, shape):
    m = tiny(out_type=out_type, out_indices=(0, 1))
    outs = m(torch.randn(2, 3, 64, 64))
    assert len(outs) == 2 and all(o.shape == shape for o in outs)
    assert all(torch.isfinite(o).all() for o in outs)


def test_featmap_freezes_unused_norm():
    m = tiny(out_type='featmap', out_indices=(0, 1))
    assert not m.norm.weight.requires_grad
    sum(o.sum() for o in m(torch.randn(1, 3, 64, 64))).backward()
    assert all(p.grad is not None for p in m.parameters() if p.requires_grad)


def test_mask_token_replaces_masked_patches_only():
    m = tiny(use_mask_token=True, out_type='raw')
    m.eval()
    x = torch.randn(2, 3, 64, 64)
    mask = torch.zeros(2, 4, 4, dtype=torch.bool)
    mask[0, 1, 2] = True
    tokens, _ = m.embed(x, mask)
    plain, _ = m.embed(x)
    assert torch.allclose(tokens[0, 1 + 6], m.mask_token[0, 0])
    changed = (tokens - plain).abs().sum(-1) > 0  # [B, N+1]
    assert changed.sum() == 1 and changed[0, 7]
    with pytest.raises(ValueError, match='use_mask_token'):
        tiny()(x, mask)
    with pytest.raises(ValueError, match='patch grid'):
        m(x, torch.zeros(2, 3, 3, dtype=torch.bool))


def test_other_input_sizes_and_padding():
    m = tiny(out_type='featmap', out_indices=(1, ), use_abs_pos_emb=True).eval()
    (out, ) = m(torch.randn(1, 3, 48, 80))
    assert out.shape == (1, 32, 3, 5)
    (out, ) = m(torch.randn(1, 3, 50, 70))  # not a multiple of 16: padded bottom/right
    assert out.shape == (1, 32, 4, 5)
    assert torch.isfinite(out).all()


def test_layer_depth():
    m = tiny()
    assert m.get_layer_depth('backbone.cls_token', 'backbone.') == (0, 4)
    assert m.get_layer_depth('backbone.patch_embed.proj.weight', 'backbone.') == (0, 4)
    assert m.get_layer_depth('backbone.blocks.0.attn.qkv.weight', 'backbone.') == (1, 4)
    assert m.get_layer_depth('backbone.blocks.1.gamma_1', 'backbone.') == (2, 4)
    assert m.get_layer_depth('backbone.norm.weight', 'backbone.') == (3, 4)
    assert m.get_layer_depth('decode_head.conv_seg.weight', 'backbone.') == (3, 4)
    assert m.get_layer_depth('backbone.rel_pos_bias.relative_position_bias_table', 'backbone.') == (3, 4)


def test_init_rescales_output_projections():
    m = tiny()
    assert m.blocks[1].attn.proj.weight.std() < m.blocks[0].attn.proj.weight.std()
    assert torch.all(m.blocks[0].attn.q_bias == 0) and torch.all(m.blocks[0].gamma_1 == 0.1)


def test_activation_checkpointing_same_gradients():
    torch.manual_seed(0)
    a = tiny(drop_path_rate=0.)
    b = tiny(drop_path_rate=0., with_cp=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    a(x)[0].sum().backward()
    ga = [p.grad.clone() for p in a.parameters() if p.grad is not None]
    b(x)[0].sum().backward()
    gb = [p.grad.clone() for p in b.parameters() if p.grad is not None]
    assert len(ga) == len(gb) and all(torch.allclose(u, v, atol=1e-6) for u, v in zip(ga, gb, strict=True))


def test_bf16_autocast_close_to_fp32():
    m = tiny(out_type='raw').eval()
    randomize(m)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = m(x)[0]
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = m(x)[0]
    assert not torch.equal(low.float(), ref)  # the matrix products did run in bf16
    assert (low.float() - ref).abs().max() < 0.1 * ref.abs().max()


# ---------------------------------------------------------- timm equivalence
timm_beit = importlib.import_module('timm.models.beit')


def _timm(**kw):
    base = dict(img_size=64, patch_size=16, embed_dim=32, depth=2, num_heads=2, mlp_ratio=2.0, num_classes=0,
                init_values=0.1)
    base.update(kw)
    return timm_beit.Beit(**base).eval()


@pytest.mark.parametrize('pool,abs_pos,shared', [('avg', False, False), ('token', True, False), ('avg', False, True)])
def test_equivalent_to_timm(pool, abs_pos, shared):
    ref = _timm(global_pool=pool, use_abs_pos_emb=abs_pos, use_rel_pos_bias=not shared,
                use_shared_rel_pos_bias=shared)
    randomize(ref, seed=1)
    ours = tiny(out_type='avg_featmap' if pool == 'avg' else 'cls_token', use_abs_pos_emb=abs_pos,
                use_rel_pos_bias=not shared, use_shared_rel_pos_bias=shared).eval()
    state, report = convert_backbone_state_dict(ref.state_dict(), ours.state_shapes())
    assert not report.missing, report.table()
    ours.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = ref.forward_head(ref.forward_features(x), pre_logits=True)
        (got, ) = ours(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_shared_table_expanded_per_layer_gives_same_output():
    shared = tiny(use_shared_rel_pos_bias=True, use_rel_pos_bias=False, out_type='raw').eval()
    randomize(shared, seed=2)
    per_layer = tiny(out_type='raw').eval()
    state, report = convert_backbone_state_dict(shared.state_dict(), per_layer.state_shapes())
    assert not report.missing
    per_layer.load_state_dict(state, strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(per_layer(x)[0], shared(x)[0], rtol=1e-5, atol=1e-5)
