"""The 'bert' converter against transformers' own BERT, RoBERTa, XLM-R and ELECTRA on tiny random models."""
from contextlib import nullcontext

import pytest
import torch

from beitmm.checkpoint import IncompleteCheckpointError, converter_for
from beitmm.checkpoint.families.bert import detect_bert_layout, fit_positions
from beitmm.models.backbones.bert import BertEncoder

transformers = pytest.importorskip('transformers')
V, C, L = 50, 32, 7
TINY = dict(vocab_size=V, hidden_size=C, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            hidden_act='gelu', attn_implementation='eager')
PAD = torch.tensor([[False] * L, [False] * 4 + [True] * (L - 4)])


def _ids(low: int = 3) -> torch.Tensor:
    return torch.randint(low, V, (2, L), generator=torch.Generator().manual_seed(1))


def _hf(cls_name: str, config_name: str, **cfg):
    torch.manual_seed(0)
    config = getattr(transformers, config_name)(**dict(TINY, **cfg))
    return getattr(transformers, cls_name)(config).eval()


def _load(checkpoint, **kw) -> BertEncoder:
    model = BertEncoder(arch='tiny', vocab_size=V, init_cfg=dict(type='Pretrained', checkpoint=checkpoint), **kw)
    model.init_weights()
    return model.eval()


def _hidden(hf, ids, pad, **kw) -> torch.Tensor:
    with torch.no_grad():
        return hf(input_ids=ids, attention_mask=(~pad).long(), **kw).last_hidden_state


def _max_diff(a, b, keep) -> float:
    return (a - b).abs()[keep].max().item()


def test_hf_bert_prefixed_bin_and_safetensors(tmp_path):
    hf = _hf('BertForMaskedLM', 'BertConfig', max_position_embeddings=40)
    torch.save(hf.state_dict(), tmp_path / 'bert.bin')  # bert. prefix, cls.predictions head
    model = _load(str(tmp_path / 'bert.bin'), max_position_embeddings=40)
    ids, types = _ids(), torch.tensor([[0] * 4 + [1] * 3] * 2)
    ref = _hidden(hf.bert, ids, PAD, token_type_ids=types)
    with torch.no_grad():
        out = model(ids, padding_mask=PAD, token_types=types)
    assert _max_diff(out, ref, ~PAD) < 1e-5
    bare = _hf('BertModel', 'BertConfig', max_position_embeddings=40)
    bare.save_pretrained(tmp_path / 'hf')  # safetensors, no prefix, pooler
    from safetensors.torch import load_file
    model = _load(load_file(str(tmp_path / 'hf' / 'model.safetensors')), max_position_embeddings=40)
    with torch.no_grad():
        assert _max_diff(model(ids, padding_mask=PAD), _hidden(bare, ids, PAD), ~PAD) < 1e-5


@pytest.mark.parametrize('family', ['Roberta', 'XLMRoberta'])
def test_roberta_and_xlmr(tmp_path, family):
    cfg = dict(max_position_embeddings=42, type_vocab_size=1, pad_token_id=1, layer_norm_eps=1e-5)
    hf = _hf(f'{family}ForMaskedLM', f'{family}Config', **cfg)
    ids = _ids().masked_fill(PAD, 1)
    ref = _hidden(hf.roberta, ids, PAD)
    torch.save({'model': hf.state_dict()}, tmp_path / 'r.pth')  # roberta. prefix, lm_head
    kw = dict(max_position_embeddings=42, type_vocab_size=0, position_offset=2, layer_norm_eps=1e-5)
    model = _load(str(tmp_path / 'r.pth'), **kw)
    with torch.no_grad():
        assert _max_diff(model(ids, padding_mask=PAD), ref, ~PAD) < 1e-5
    hf.roberta.save_pretrained(tmp_path / 'bare', safe_serialization=False)  # no prefix: the model's offset
    model = _load(str(tmp_path / 'bare' / 'pytorch_model.bin'), **kw)
    with torch.no_grad():
        assert _max_diff(model(ids, padding_mask=PAD), ref, ~PAD) < 1e-5
    # s2s-ft's way: BERT-style positions (offset 0), the 2 offset rows cut, 40 real rows
    s2s = _load(str(tmp_path / 'r.pth'), max_position_embeddings=40, type_vocab_size=0, layer_norm_eps=1e-5)
    assert torch.equal(s2s.embeddings.position_embeddings.weight,
                       model.embeddings.position_embeddings.weight[2:])


@pytest.mark.parametrize('embedding_size', [C, 16])
def test_electra_discriminator(tmp_path, embedding_size):
    hf = _hf('ElectraForPreTraining', 'ElectraConfig', embedding_size=embedding_size, max_position_embeddings=40)
    torch.save(hf.state_dict(), tmp_path / 'e.bin')
    model = _load(str(tmp_path / 'e.bin'), embedding_size=embedding_size, max_position_embeddings=40)
    assert (model.embeddings_project is not None) == (embedding_size != C)
    ids = _ids()
    with torch.no_grad():
        assert _max_diff(model(ids, padding_mask=PAD), _hidden(hf.electra, ids, PAD), ~PAD) < 1e-5
    with pytest.raises(ValueError, match='embedding_size=16') if embedding_size != C else nullcontext():
        _load(str(tmp_path / 'e.bin'), max_position_embeddings=40)


def test_electra_generator_head_kept_for_a_model_with_one():
    hf = _hf('ElectraForMaskedLM', 'ElectraConfig', embedding_size=16, max_position_embeddings=40)
    state = hf.state_dict()
    model = BertEncoder(arch='tiny', vocab_size=V, embedding_size=16, max_position_embeddings=40)
    shapes = {'backbone.' + k: v.shape for k, v in model.state_dict().items()}
    shapes['cls.predictions.transform.dense.weight'] = state['generator_predictions.dense.weight'].shape
    out, report = converter_for(model).convert_model(state, shapes, 'backbone.', model.checkpoint_target())
    assert report.source_format == 'electra (generator)'
    assert torch.equal(out['cls.predictions.transform.dense.weight'], state['generator_predictions.dense.weight'])
    assert ('cls.predictions.decoder.weight', 'not in the target model') in report.dropped
    assert not report.missing


def test_unilm_fused_qkv(tmp_path):
    hf = _hf('BertModel', 'BertConfig', max_position_embeddings=40)
    state = {}
    for key, value in hf.state_dict().items():
        if '.attention.self.key.bias' in key:
            value.zero_()  # unilm's layout has no key bias
        state['bert.' + key] = value
    for i in range(2):  # the fast-QKV layout by hand: weights stacked in rows q, k, v; q_bias / v_bias
        p = f'bert.encoder.layer.{i}.attention.self.'
        state[p + 'qkv_linear.weight'] = torch.cat([state.pop(p + f'{n}.weight') for n in ('query', 'key', 'value')])
        state[p + 'q_bias'] = state.pop(p + 'query.bias')
        state[p + 'v_bias'] = state.pop(p + 'value.bias')
        del state[p + 'key.bias']
    assert detect_bert_layout(state)[1] == 'unilm'
    torch.save(state, tmp_path / 'unilm.bin')
    model = _load(str(tmp_path / 'unilm.bin'), max_position_embeddings=40)
    ids = _ids()
    with torch.no_grad():
        assert _max_diff(model(ids, padding_mask=PAD), _hidden(hf, ids, PAD), ~PAD) < 1e-5
    state['bert.encoder.rel_pos_bias.weight'] = torch.zeros(4, 32)  # unilm2: [heads, rel_pos_bins]
    with pytest.raises(ValueError, match='relative position bias.*rel_pos_bins=32'):
        _load(state, max_position_embeddings=40)  # a model without the bias names the setting it needs


def test_position_extension_tiles_rows():
    hf = _hf('BertModel', 'BertConfig', max_position_embeddings=16)
    old = hf.embeddings.position_embeddings.weight.detach()
    model = _load(hf.state_dict(), max_position_embeddings=40)
    new = model.embeddings.position_embeddings.weight.detach()
    assert torch.equal(new[:16], old) and torch.equal(new[16:32], old) and torch.equal(new[32:40], old[:8])
    once = _load(hf.state_dict(), max_position_embeddings=40, reuse_position_embedding=False)
    new = once.embeddings.position_embeddings.weight.detach()
    assert torch.equal(new[:16], old) and not torch.equal(new[16:32], old)
    ids = _ids()  # positions inside the pretrained range give HF's outputs
    with torch.no_grad():
        assert _max_diff(model(ids, padding_mask=PAD), _hidden(hf, ids, PAD), ~PAD) < 1e-5
    table = torch.arange(10.)[:, None]  # RoBERTa-style: 2 offset rows kept, 8 real rows tiled to 13
    out = fit_positions(table, 2, 15, 2, True)[:, 0].tolist()
    assert out == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5, 6]
    assert fit_positions(table, 2, 5, 0, True)[:, 0].tolist() == [2, 3, 4, 5, 6]


def test_beitmm_own_layout_and_token_types(tmp_path):
    src = BertEncoder(arch='tiny', vocab_size=V, max_position_embeddings=20)
    src.init_weights()
    torch.save({'state_dict': {'backbone.' + k: v for k, v in src.state_dict().items()}}, tmp_path / 'own.pth')
    model = _load(str(tmp_path / 'own.pth'), max_position_embeddings=20)
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    folded = _load(str(tmp_path / 'own.pth'), max_position_embeddings=20, type_vocab_size=0)
    ids = _ids()  # segment 0 everywhere: folding type row 0 into the positions is exact
    with torch.no_grad():
        assert (folded.eval()(ids) - src.eval()(ids)).abs().max() < 1e-5
    three = _load(str(tmp_path / 'own.pth'), max_position_embeddings=20, type_vocab_size=3)
    t = three.embeddings.token_type_embeddings.weight
    assert torch.equal(t[2], t[0]) and torch.equal(t[:2], src.embeddings.token_type_embeddings.weight)


def test_other_families_and_incomplete_files():
    beit = {'patch_embed.proj.weight': torch.zeros(4, 3, 2, 2), 'blocks.0.attn.qkv.weight': torch.zeros(12, 4)}
    with pytest.raises(ValueError, match='BEiT'):
        _load(beit)
    with pytest.raises(ValueError, match='VLMo'):
        _load({'transformer.blocks.0.mlp_imag.fc1.weight': torch.zeros(2, 2)})
    with pytest.raises(ValueError, match='BEiT-3'):
        _load({'beit3.text_embed.weight': torch.zeros(2, 2)})
    with pytest.raises(ValueError, match='not a BERT-family'):
        _load({'foo.weight': torch.zeros(2)})
    hf = _hf('BertModel', 'BertConfig', max_position_embeddings=40)
    partial = {k: v for k, v in hf.state_dict().items() if 'layer.1.' not in k}
    with pytest.raises(IncompleteCheckpointError, match='layer.1'):
        _load(partial, max_position_embeddings=40)
    with pytest.raises(ValueError, match='vocab_size'):
        BertEncoder(arch='tiny', vocab_size=V + 1, max_position_embeddings=40,
                    init_cfg=dict(type='Pretrained', checkpoint=hf.state_dict())).init_weights()
