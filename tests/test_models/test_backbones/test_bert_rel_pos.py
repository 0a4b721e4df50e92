"""UniLM v2 in beitmm.BertEncoder: relative position bias against s2s-ft's formula, unilm2 files, cached decoding.

The reference forward below is a transcription of s2s-ft's ``BertModel.forward`` with ``rel_pos_bins > 0``
(``s2s_ft/modeling.py``): ``rel = pos[j] - pos[i]``, T5's bidirectional bucket, one-hot @ ``rel_pos_bias.weight.T``,
permuted to [B, heads, Lq, Lk] and added to the scaled scores with the ``(1 - mask) * -10000`` mask in every layer.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from beitmm.models.backbones.bert import BertEncoder
from beitmm.models.backbones.bert_rel_pos import relative_position_bucket
from beitmm.models.generation import KVCache

V, C, H, BINS, MAX_REL = 50, 32, 4, 32, 128  # unilm2's bins / distance are a recorded choice (configs/s2s/README.md)


def _official_bucket(rel: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    """s2s-ft's relative_position_bucket(bidirectional=True), transcribed step by step."""
    ret = 0
    num_buckets //= 2
    ret += (rel > 0).long() * num_buckets
    n = torch.abs(rel)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    val_if_large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                                * (num_buckets - max_exact)).to(torch.long)
    val_if_large = torch.min(val_if_large, torch.full_like(val_if_large, num_buckets - 1))
    return ret + torch.where(is_small, n, val_if_large)


def _official_forward(w: dict, ids, types, pos, mask) -> torch.Tensor:
    """s2s-ft BertModel.forward (post-LN BERT + shared relative bias) on HF-BERT keys ``w``; mask [B, L, L] 0/1."""
    x = w['embeddings.word_embeddings.weight'][ids] + w['embeddings.position_embeddings.weight'][pos] \
        + w['embeddings.token_type_embeddings.weight'][types]
    x = F.layer_norm(x, (C, ), w['embeddings.LayerNorm.weight'], w['embeddings.LayerNorm.bias'], 1e-12)
    rel = _official_bucket(pos.unsqueeze(-2) - pos.unsqueeze(-1), BINS, MAX_REL)
    rel = (F.one_hot(rel, BINS).float() @ w['rel_pos_bias.weight'].t()).permute(0, 3, 1, 2)  # [B, H, L, L]
    ext = (1.0 - mask[:, None].float()) * -10000.0
    B, L = ids.shape
    for i in range(2):
        p = f'encoder.layer.{i}.'

        def lin(h, name, p=p):
            return h @ w[p + name + '.weight'].t() + w[p + name + '.bias']

        def heads(t):
            return t.view(B, L, H, C // H).permute(0, 2, 1, 3)

        q, k, v = (heads(lin(x, f'attention.self.{n}')) for n in ('query', 'key', 'value'))
        scores = q @ k.transpose(-1, -2) / math.sqrt(C // H) + ext + rel
        ctx = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(B, L, C)
        x = F.layer_norm(lin(ctx, 'attention.output.dense') + x, (C, ), w[p + 'attention.output.LayerNorm.weight'],
                         w[p + 'attention.output.LayerNorm.bias'], 1e-12)
        h = F.gelu(lin(x, 'intermediate.dense'))
        x = F.layer_norm(lin(h, 'output.dense') + x, (C, ), w[p + 'output.LayerNorm.weight'],
                         w[p + 'output.LayerNorm.bias'], 1e-12)
    return x


def _weights() -> dict:
    torch.manual_seed(0)
    model = BertEncoder(arch='tiny', vocab_size=V, max_position_embeddings=64, rel_pos_bins=BINS,
                        max_rel_pos=MAX_REL)
    model.init_weights()
    w = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for k in w:
        if 'LayerNorm' in k or k.endswith('.bias'):
            w[k] += 0.1 * torch.randn_like(w[k])  # non-trivial norms and biases
    w['rel_pos_bias.weight'] = torch.randn(H, BINS)  # a bias large enough to matter
    for i in range(2):
        w[f'encoder.layer.{i}.attention.self.key.bias'].zero_()  # unilm's fast-QKV layout has no key bias
    return w


def _raw_unilm2(w: dict) -> dict:
    """The released unilm2 layout s2s-ft's unilm_to_hf_bert reads: bert. prefix, fused qkv, encoder.rel_pos_bias."""
    raw = {'bert.' + k: v for k, v in w.items() if 'attention.self' not in k and k != 'rel_pos_bias.weight'}
    for i in range(2):
        p = f'encoder.layer.{i}.attention.self.'
        raw['bert.' + p + 'qkv_linear.weight'] = torch.cat([w[p + f'{n}.weight'] for n in ('query', 'key', 'value')])
        raw['bert.' + p + 'q_bias'], raw['bert.' + p + 'v_bias'] = w[p + 'query.bias'], w[p + 'value.bias']
    raw['bert.encoder.rel_pos_bias.weight'] = w['rel_pos_bias.weight']
    raw['cls.predictions.bias'] = torch.zeros(V)
    return raw


def _load(checkpoint) -> BertEncoder:
    model = BertEncoder(arch='tiny', vocab_size=V, max_position_embeddings=64, rel_pos_bins=BINS,
                        max_rel_pos=MAX_REL, init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    model.init_weights()
    return model.eval()


def test_bucket_equals_s2s_ft_and_t5():
    rel = torch.arange(-300, 301)[None]
    ours = relative_position_bucket(rel, BINS, MAX_REL)
    assert torch.equal(ours, _official_bucket(rel, BINS, MAX_REL))
    t5 = pytest.importorskip('transformers').models.t5.modeling_t5.T5Attention._relative_position_bucket
    assert torch.equal(ours, t5(rel, bidirectional=True, num_buckets=BINS, max_distance=MAX_REL))
    assert ours.min() == 0 and ours.max() == BINS - 1 and ours[0, 300] == 0  # distance 0 -> bucket 0


@pytest.mark.parametrize('layout', ['raw', 's2s-ft', 'beitmm'])
def test_unilm2_checkpoint_loads_and_matches_official_forward(layout, tmp_path):
    w = _weights()
    # raw release (fused qkv, bert.encoder.rel_pos_bias); s2s-ft's converted / fine-tuned (bert.rel_pos_bias); beitmm's
    prefix = 'bert.' if layout == 's2s-ft' else ''
    state = _raw_unilm2(w) if layout == 'raw' else {prefix + k: v for k, v in w.items()}
    torch.save(state, tmp_path / 'unilm2.bin')
    model = _load(str(tmp_path / 'unilm2.bin'))
    sd = model.state_dict()
    assert set(sd) == set(w) and all(torch.equal(sd[k], w[k]) for k in w)  # zero missing keys, every weight in place
    # an s2s-ft packed input: source 0..4 (row 1: 3 real + padding), targets after the real source, pseudo tokens
    # repeating their target's position; the pseudo-masked attention of s2s-ft (bool mask, True = may attend)
    ids = torch.randint(3, V, (2, 9), generator=torch.Generator().manual_seed(2))
    pos = torch.tensor([[0, 1, 2, 3, 4, 5, 6, 5, 6], [0, 1, 2, 0, 0, 3, 4, 3, 4]])
    types = torch.tensor([[0] * 5 + [1] * 4] * 2)
    mask = torch.zeros(2, 9, 9, dtype=torch.bool)
    mask[0, :, :5] = True
    mask[1, :, :3] = True
    mask[:, 5:7, 5:7] = torch.tril(torch.ones(2, 2, dtype=torch.bool))  # targets: causal
    mask[:, 7, 7] = mask[:, 8, 8] = mask[:, 8, 5] = True  # pseudo i: targets < i and itself
    with torch.no_grad():
        ours = model(ids, attn_mask=mask[:, None], positions=pos, token_types=types)
    ref = _official_forward(w, ids, types, pos, mask)
    real = torch.tensor([[True] * 9, [True] * 3 + [False] * 2 + [True] * 4])  # padding rows see no keys there
    assert (ours - ref).abs()[real].max() < 1e-5
    no_bias = dict(w, **{'rel_pos_bias.weight': torch.zeros(H, BINS)})
    assert (_official_forward(no_bias, ids, types, pos, mask) - ref).abs()[real].max() > 1e-2  # the bias matters


def test_cached_decoding_keeps_key_positions():
    model = _load(_raw_unilm2(_weights()))
    ids = torch.randint(3, V, (2, 8), generator=torch.Generator().manual_seed(3))
    pos = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    causal = torch.tril(torch.ones(8, 8, dtype=torch.bool))[None, None]
    with torch.no_grad():
        full = model(ids, attn_mask=causal, positions=pos)
        cache = KVCache(2)
        steps = [model(ids[:, :5], attn_mask=causal[..., :5, :5], positions=pos[:5], kv_cache=cache)]
        for t in range(5, 8):
            steps.append(model(ids[:, t:t + 1], attn_mask=causal[..., t:t + 1, :t + 1], positions=pos[t:t + 1],
                               kv_cache=cache))
    assert (torch.cat(steps, 1) - full).abs().max() < 1e-5
    assert torch.equal(cache.positions, pos.expand(2, 8))


def test_bad_settings_and_mismatched_checkpoints_are_named():
    with pytest.raises(ValueError, match='even number'):
        BertEncoder(arch='tiny', rel_pos_bins=7, max_rel_pos=128)
    with pytest.raises(ValueError, match='max_rel_pos'):
        BertEncoder(arch='tiny', rel_pos_bins=32, max_rel_pos=8)
    state = _raw_unilm2(_weights())
    state['bert.encoder.rel_pos_bias.weight'] = torch.zeros(H, 16)
    with pytest.raises(ValueError, match='rel_pos_bins=16'):
        _load(state)


def test_s2s_beam_decoding_with_the_cache_equals_recomputation():
    """Beam reordering and the dropped [MASK] slot keep the cached key positions in step with the keys."""
    from mmpretrain.structures import DataSample

    from beitmm.registry import MODELS
    from beitmm.testing.vl import tiny_tokenizer
    torch.manual_seed(0)
    model = MODELS.build(dict(type='beitmm.Seq2SeqFinetuner', max_source_len=12, max_target_len=6, num_beams=3,
                              ngram_ignore_words=(), tokenizer=tiny_tokenizer('wordpiece'),
                              backbone=dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=160,
                                            max_position_embeddings=24, rel_pos_bins=BINS, max_rel_pos=MAX_REL)))
    model.init_weights()
    with torch.no_grad():
        model.backbone.rel_pos_bias.weight.normal_()
    model.eval()
    samples = [DataSample(src='red circle left'), DataSample(src='a blue square on the top of the image')]
    sources = model._tokenize(samples, with_target=False)[0]
    cached, full = model.generate(sources), model.generate(sources, use_cache=False)
    assert torch.equal(cached.tokens, full.tokens) and torch.allclose(cached.scores, full.scores, atol=1e-5)
