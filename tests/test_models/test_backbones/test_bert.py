"""beitmm.BertEncoder: presets, explicit positions, masks, the key / value cache and bad input."""
import pytest
import torch

from beitmm.models.backbones.bert import BertEncoder
from beitmm.models.generation import KVCache, MaskPredictDecoder
from beitmm.registry import MODELS

V = 40


def _model(**kw) -> BertEncoder:
    torch.manual_seed(0)
    model = BertEncoder(arch='tiny', vocab_size=V, max_position_embeddings=32, **kw)
    model.init_weights()
    return model.eval()


def _ids(b: int = 2, n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randint(1, V, (b, n), generator=torch.Generator().manual_seed(seed))


def test_presets_and_registry():
    model = MODELS.build(dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=V))
    assert model(_ids()).shape == (2, 6, 32)
    minilm = BertEncoder(arch='minilm-l12-h384')
    assert 33e6 < sum(p.numel() for p in minilm.parameters()) < 34e6  # MiniLM-L12xH384: 33M
    assert 'encoder.layer.11.attention.self.query.weight' in minilm.state_dict()
    with pytest.raises(KeyError, match='presets'):
        BertEncoder(arch='huge')


def test_padding_equals_shorter_input():
    model, ids = _model(), _ids()
    pad = torch.zeros(2, 6, dtype=torch.bool)
    pad[1, 4:] = True
    with torch.no_grad():
        full = model(ids, padding_mask=pad)
        short = model(ids[1:, :4])
    assert (full[1, :4] - short[0]).abs().max() < 1e-5


def test_explicit_positions_pseudo_tokens_and_offset():
    model = _model(position_offset=2, type_vocab_size=0)
    ids = torch.tensor([[5, 6, 7, 9, 9]])
    # s2s-ft pseudo tokens: the last two tokens share id and position, and see the same keys: same output
    positions = torch.tensor([0, 1, 2, 3, 3])
    with torch.no_grad():
        out = model(ids, positions=positions)
        assert (out[0, 3] - out[0, 4]).abs().max() < 1e-6
        assert torch.allclose(model(ids), model(ids, positions=torch.arange(5)[None].expand(1, 5)))
    with pytest.raises(ValueError, match='longer than the position table'):
        model(ids, positions=torch.tensor([0, 1, 2, 3, 30]))
    with pytest.raises(ValueError, match='type_vocab_size=0'):
        model(ids, token_types=torch.ones_like(ids))


def test_cached_steps_equal_full_recomputation():
    model, P, T = _model(), 4, 5
    ids = _ids(2, P + T)
    src_pad = torch.tensor([[False] * P, [False, False, True, True]])
    n = P + T
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    causal[:, :P] = True  # source bidirectional, target causal
    causal[:P, P:] = False  # the source never sees the target
    key_pad = torch.cat([src_pad, torch.zeros(2, T, dtype=torch.bool)], dim=1)  # [B, n]
    mask = causal[None, None] & ~key_pad[:, None, None, :]  # [B, 1, n, n]
    with torch.no_grad():
        full = model(ids, attn_mask=mask)
        cache = KVCache(model.num_layers)
        steps = [model(ids[:, :P], attn_mask=mask[:, :, :P, :P], kv_cache=cache)]
        for t in range(P, n):
            steps.append(model(ids[:, t:t + 1], attn_mask=mask[:, :, t:t + 1, :t + 1], positions=torch.tensor([t]),
                               kv_cache=cache))
    assert cache.length == n
    assert (torch.cat(steps, dim=1) - full).abs().max() < 1e-5


def test_mask_predict_decoder_cache_matches_recompute():
    model, P = _model(), 4
    src = _ids(2, P, seed=3)
    pad = torch.tensor([[False] * P, [False, False, False, True]])
    head = torch.nn.Linear(32, V)

    def run(rows, with_prefix, ids, positions, attn_mask, kv_cache):
        if with_prefix:  # s2s-ft: target positions continue after the (padded) source
            text, pos = torch.cat([src[rows], ids], dim=1), torch.cat([torch.arange(P), P + positions])
            return model(text, attn_mask=attn_mask, positions=pos, kv_cache=kv_cache)[:, P:]
        return model(ids, attn_mask=attn_mask, positions=P + positions, kv_cache=kv_cache)

    tokens = _ids(2, 4, seed=5)
    logits = {}
    for use_cache in (True, False):
        dec = MaskPredictDecoder(run, head, mask_id=0, prefix_len=P, batch_size=2, num_layers=model.num_layers,
                                 prefix_padding=pad, use_cache=use_cache)
        with torch.no_grad():
            logits[use_cache] = torch.stack([dec.step(tokens[:, :t]) for t in range(4)])
    assert (logits[True] - logits[False]).abs().max() < 1e-5


def test_bad_input():
    model, ids = _model(), _ids()
    with pytest.raises(ValueError, match='integer token ids'):
        model(ids.float())
    with pytest.raises(ValueError, match='attn_mask'):
        model(ids, attn_mask=torch.ones(1, 1, 6, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match='padding_mask'):
        model(ids, padding_mask=torch.zeros(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match='token_types'):
        model(ids, token_types=torch.full_like(ids, 2))
    with pytest.raises(ValueError, match='kv_cache has 1'):
        model(ids, kv_cache=KVCache(1))
    cache = KVCache(model.num_layers)
    model(ids, kv_cache=cache)
    with pytest.raises(ValueError, match='padding of every key'):
        model(ids[:, :1], padding_mask=torch.ones(2, 1, dtype=torch.bool), kv_cache=cache)
    with pytest.raises(ValueError, match='positions'):
        model(ids, positions=torch.arange(5))
