"""The 'vlmo' converter: official VLMo files (any wrapper, task heads), stage-2 and BEiT checkpoints, table resize."""
import pytest
import torch
import torch.nn as nn

from beitmm.checkpoint import (
    IncompleteCheckpointError,
    convert_state_for_model,
    converter_for,
    load_pretrained_backbone,
    registered_converters,
)
from beitmm.checkpoint.families.vlmo import VLMoConverter
from beitmm.models.backbones import BEiT, BEiT3, VLBEiT, VLMo
from beitmm.pos_embed import vlmo_table_rows
from tests.test_checkpoint.test_families.test_beit import ckpt_fakes

C, DEPTH, HEADS, VOCAB, T = 32, 3, 2, 50, 8
ARCH = dict(embed_dims=C, num_layers=DEPTH, num_heads=HEADS, feedforward_channels=64)
HEAD_KEYS = {  # official VLMo heads (vlmo_module.py / heads.py), shapes for C
    'pooler.dense.weight': (C, C), 'pooler.dense.bias': (C, ), 'itc_text_proj.fc.weight': (C, C),
    'itc_image_proj.fc.weight': (C, C), 'itc_vl_text_proj.fc.weight': (C, C), 'itc_vl_image_proj.fc.weight': (C, C),
    'logit_scale': (), 'logit_vl_scale': (), 'mlm_score.transform.dense.weight': (C, C),
    'mlm_score.transform.LayerNorm.weight': (C, ), 'mlm_score.decoder.weight': (VOCAB, C), 'mlm_score.bias': (VOCAB, ),
    'itm_score.fc.weight': (2, C), 'vqa_classifier.0.weight': (2 * C, C), 'vqa_classifier.3.weight': (7, 2 * C),
    'nlvr2_classifier.0.weight': (2 * C, 2 * C),
}


def _vlmo(**kw):
    args = dict(arch=ARCH, img_size=32, vocab_size=VOCAB, rel_pos_text_len=T, vlffn_start=2)
    return VLMo(**{**args, **kw}).eval()


def _random_state(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {k: (v.clone() if v.dtype == torch.long else 0.3 * torch.randn(v.shape, generator=g))
            for k, v in model.state_dict().items()}


def _inputs(size=32):
    g = torch.Generator().manual_seed(1)
    return torch.randn(2, 3, size, size, generator=g), torch.randint(1, VOCAB, (2, 5), generator=g)


def test_converter_is_registered():
    assert 'vlmo' in registered_converters()
    assert isinstance(converter_for(_vlmo()), VLMoConverter)
    assert isinstance(converter_for(VLBEiT(arch=ARCH, img_size=32, vocab_size=VOCAB, rel_pos_text_len=T)),
                      VLMoConverter)


@pytest.mark.parametrize('wrapper', ['plain', 'state_dict', 'model', 'deepspeed'])
def test_finetuned_checkpoint_with_heads_loads_and_reports_them(wrapper):
    state = _random_state(_vlmo())
    ckpt = {**state, **{k: torch.randn(s) for k, s in HEAD_KEYS.items()}}
    ckpt = dict(plain=ckpt, state_dict={'state_dict': ckpt}, model={'model': ckpt},
                deepspeed={'module': {'module.' + k: v for k, v in ckpt.items()}})[wrapper]
    model = _vlmo()
    report = load_pretrained_backbone(model, ckpt)
    assert not report.missing and not report.unexpected and not report.reinitialised
    assert {k for k, _ in report.dropped} == set(HEAD_KEYS)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_nlvr2_token_types_fit_both_ways():
    state = _random_state(_vlmo(num_token_types=3))
    model = _vlmo()
    report = load_pretrained_backbone(model, state)
    assert ('token_type_embeddings.weight', (3, C), (2, C)) in report.resized
    assert torch.equal(model.token_type_embeddings.weight, state['token_type_embeddings.weight'][:2])
    state = _random_state(_vlmo())
    nlvr2 = _vlmo(num_token_types=3)
    load_pretrained_backbone(nlvr2, state)
    rows = state['token_type_embeddings.weight']
    assert torch.equal(nlvr2.token_type_embeddings.weight, torch.cat([rows, rows[1:2]]))  # VLMo's NLVR2 init


def test_stage2_checkpoint_reports_the_vl_expert_as_initialised_by_the_model():
    source = _vlmo(vlffn_start=DEPTH, max_text_len=T)  # text-only pretraining: no VL expert, 196 (here T) positions
    state = _random_state(source)
    model = _vlmo(max_text_len=5)
    fresh = model.transformer.blocks[2].mlp_vl.fc1.weight.detach().clone()
    report = load_pretrained_backbone(model, state)
    assert not report.missing and report.source_format.startswith('vlmo stage 2')
    assert {k for k, _ in report.reinitialised} == {k for k in model.state_dict() if '_vl.' in k}
    assert torch.equal(model.transformer.blocks[2].mlp_vl.fc1.weight, fresh)
    assert ('text_embeddings.position_embeddings.weight', (T, C), (5, C)) in report.resized  # cut as VLMo does
    assert torch.equal(model.text_embeddings.position_ids, torch.arange(5)[None])
    text_fc1 = state['transformer.blocks.2.mlp_text.fc1.weight']
    assert torch.equal(model.transformer.blocks[2].mlp_text.fc1.weight, text_fc1)


def test_partly_missing_vl_expert_is_an_error():
    state = _random_state(_vlmo(vlffn_start=1))
    state = {k: v for k, v in state.items() if not k.startswith('transformer.blocks.2.mlp_vl.')}
    with pytest.raises(IncompleteCheckpointError, match='blocks.2.mlp_vl'):
        load_pretrained_backbone(_vlmo(vlffn_start=1), state)


def _randomized_beit(**kw):
    beit = BEiT(arch='tiny', img_size=32, out_type='raw', **kw).eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in beit.parameters():
            p.copy_((1 + 0.1 * torch.randn(p.shape, generator=g)) if p.dim() == 1 and p.shape[0] == 192
                    else 0.1 * torch.randn(p.shape, generator=g))
    return beit


@pytest.mark.parametrize('shared', [False, True])
def test_beit_checkpoint_is_vlmo_stage1_init(shared):
    beit = _randomized_beit(use_rel_pos_bias=not shared, use_shared_rel_pos_bias=shared)
    model = VLMo(arch='tiny', img_size=32, vocab_size=VOCAB, rel_pos_text_len=T).eval()
    report = load_pretrained_backbone(model, beit.state_dict())
    assert not report.missing and not report.unexpected
    fresh = {k for k, _ in report.reinitialised}
    assert fresh == {k for k in model.state_dict() if '_text.' in k or '_vl.' in k or k.startswith(
        ('text_embeddings.', 'token_type_embeddings.'))} - {'text_embeddings.position_ids'}
    table = model.relative_position_bias_table.detach()
    beit_tables = ([beit.rel_pos_bias.relative_position_bias_table] * 12 if shared else
                   [blk.attn.relative_position_bias_table for blk in beit.blocks])
    torch.testing.assert_close(table[:12], torch.cat(beit_tables, dim=1).detach())  # image rows: 3 x 3 + 3
    assert not table[12:].any()  # cross and text rows: VLMo's init (0)
    assert torch.equal(model.transformer.blocks[3].mlp_imag.fc2.weight, beit.blocks[3].mlp.fc2.weight)
    assert torch.equal(model.transformer.blocks[3].norm2_imag.bias, beit.blocks[3].norm2.bias)
    with torch.no_grad():  # image-only VLMo == BEiT once the image token type (BEiT has none) is 0
        model.token_type_embeddings.weight.zero_()
        img, _ = _inputs()
        torch.testing.assert_close(model(image=img)[-1], beit(img)[-1], rtol=0, atol=1e-5)


def test_unilm_pretraining_beit_layout_with_shared_table_and_other_grid():
    state = ckpt_fakes.official(shared=True, per_layer=False, mask_token=True, lm_head=True)  # 64 px, 2 layers
    model = VLBEiT(arch=dict(ARCH, num_layers=2, feedforward_channels=128), img_size=32, vocab_size=VOCAB,
                   rel_pos_text_len=T)
    report = load_pretrained_backbone(model, state)
    assert torch.equal(model.transformer.mask_token, state['mask_token'])
    assert report.resized and report.resized[0][0] == 'relative_position_bias_table'
    assert any('lm_head' in k for k, _ in report.dropped)
    assert any('shared BEiT table expanded' in n for n in report.notes)


def test_table_resize_for_another_image_size_equals_the_run_time_resize():
    small = _vlmo()
    small.load_state_dict(_random_state(small))
    big = _vlmo(img_size=48)
    report = load_pretrained_backbone(big, small.state_dict())
    assert report.resized == [('relative_position_bias_table', (vlmo_table_rows((2, 2), T), 6),
                               (vlmo_table_rows((3, 3), T), 6))]
    img, txt = _inputs(48)
    with torch.no_grad():
        for kw in (dict(image=img), dict(image=img, text=txt), dict(text=txt)):
            torch.testing.assert_close(big(**kw)[-1], small(**kw)[-1], rtol=0, atol=1e-5)


def test_pretrained_init_cfg_reads_a_lightning_file(tmp_path):
    state = _random_state(_vlmo())
    path = str(tmp_path / 'vlmo.ckpt')
    torch.save({'state_dict': {**state, 'pooler.dense.weight': torch.zeros(C, C)}}, path)
    model = _vlmo(init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    assert torch.equal(model.relative_position_bias_table, state['relative_position_bias_table'])


def test_whole_model_conversion_keeps_the_backbone_under_its_prefix():
    model = nn.Module()
    model.backbone, model.head = _vlmo(), nn.Linear(C, 3)
    state = {**_random_state(_vlmo()), 'vqa_classifier.0.weight': torch.zeros(2 * C, C)}
    out = convert_state_for_model(model, state)  # a bare official file: heads dropped, the new head left fresh
    assert set(out) == {'backbone.' + k for k in model.backbone.state_dict()}
    whole = {**{'backbone.' + k: v for k, v in state.items() if k != 'vqa_classifier.0.weight'},
             'head.weight': torch.ones(3, C), 'head.bias': torch.ones(3)}
    assert torch.equal(convert_state_for_model(model, whole)['head.weight'], torch.ones(3, C))


def test_wrong_family_and_wrong_arch_stop_with_a_clear_message():
    beit3 = BEiT3(arch=dict(ARCH, num_layers=2), img_size=32, vocab_size=VOCAB).state_dict()
    with pytest.raises(ValueError, match='BEiT-3 checkpoint: load it into beitmm.BEiT3'):
        load_pretrained_backbone(_vlmo(), beit3)
    with pytest.raises(ValueError, match='not a VLMo checkpoint'):
        load_pretrained_backbone(_vlmo(), {'encoder.weight': torch.zeros(3)})
    wide = _random_state(_vlmo(arch=dict(ARCH, embed_dims=48)))
    with pytest.raises(ValueError, match='another number of heads x layers|another architecture'):
        load_pretrained_backbone(_vlmo(), wide)
    other_text_table = _random_state(_vlmo(rel_pos_text_len=T + 1))
    with pytest.raises(ValueError, match='rel_pos_text_len'):
        load_pretrained_backbone(_vlmo(), other_text_table)


def _vlmo_convert_to_textpt(state):
    """VLMo's ``convert_to_textpt_ckpt`` (vlmo_module.py:16-54), tables aside.

    Keys with 'mlp' -> 'mlp_imag', with 'norm2' -> 'norm2_imag', every key prefixed 'transformer.'; VLMo then loads
    with strict=False (:336).
    """
    out = {}
    for key, value in state.items():
        if 'relative_position_bias_table' in key:
            continue
        if 'mlp' in key:
            key = key.replace('mlp', 'mlp_imag')
        elif 'norm2' in key:
            key = key.replace('norm2', 'norm2_imag')
        out['transformer.' + key] = value
    return out


@pytest.mark.parametrize('layout', ['unilm-finetuned', 'unilm-pretraining', 'hf-finetuned', 'mmpretrain-avg'])
def test_beit_start_fills_what_vlmos_converter_fills_and_no_pooling_norm(layout):
    """Review V3: BEiT's mean-pooling norm (fc_norm) is not VLMo's final norm, which then stays at its init."""
    pretraining = layout == 'unilm-pretraining'
    unilm = ckpt_fakes.official(mask_token=True, lm_head=True) if pretraining else ckpt_fakes.official(
        fc_norm=True, head=10)
    state = dict(unilm)
    if layout == 'hf-finetuned':
        state = ckpt_fakes.to_hf(unilm)  # the pooling norm is beit.pooler.layernorm
    elif layout == 'mmpretrain-avg':
        state = ckpt_fakes.to_openmmlab(unilm, 'ln2')
    model = VLMo(arch=dict(ARCH, num_layers=2, feedforward_channels=128), img_size=64, vocab_size=VOCAB,
                 rel_pos_text_len=T)
    report = load_pretrained_backbone(model, state)
    own = model.state_dict()
    expected = _vlmo_convert_to_textpt(unilm)
    filled = [k for k in expected if k in own]
    assert len(filled) > 20
    for key in filled:
        torch.testing.assert_close(own[key], expected[key], msg=key)
    if pretraining:  # unilm's pretraining files have the per-token norm: VLMo loads it
        assert 'transformer.norm.weight' in filled
    else:
        assert not any(k.startswith('transformer.norm.') for k in filled)
        assert torch.equal(own['transformer.norm.weight'], torch.ones(C))  # VLMo's init, LayerNorm(1, 0)
        assert torch.equal(own['transformer.norm.bias'], torch.zeros(C))
        assert {'transformer.norm.weight', 'transformer.norm.bias'} <= {k for k, _ in report.reinitialised}
        assert any('mean-pooling norm' in why for _, why in report.dropped)
