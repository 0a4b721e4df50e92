"""The key / value-cached decoder against full recomputation and against torchscale's incremental path.

torchscale 0.3.0 (the official BEiT-3 backbone) decodes with ``incremental_state``; unilm's
``BEiT3ForCaptioning.forward`` (mask, explicit positions) and ``CaptioningHandler`` (``index_select`` on the
batch, the last key / value dropped after each step) are transcribed here on top of it.
"""
import pytest
import torch
from torchscale.architecture.config import EncoderConfig
from torchscale.model.BEiT3 import BEiT3 as TorchscaleBEiT3

from beitmm.models.backbones import BEiT3
from beitmm.models.generation import KVCache, MaskPredictDecoder, SearchConfig, beam_search, seq2seq_mask

D, L, H, FFN, VOCAB, IMG = 32, 2, 2, 64, 50, 32
MASK_ID, BOS, EOS = 4, 0, 2
N_IMG = (IMG // 16)**2 + 1


def _randomize(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)


@pytest.fixture(scope='module')
def models():
    args = EncoderConfig(img_size=IMG, patch_size=16, vocab_size=VOCAB, multiway=True, layernorm_embedding=False,
                         normalize_output=True, no_output_layer=True, encoder_embed_dim=D, encoder_attention_heads=H,
                         encoder_ffn_embed_dim=FFN, encoder_layers=L)
    ref = TorchscaleBEiT3(args).eval()
    _randomize(ref)
    ours = BEiT3(arch=dict(embed_dims=D, num_layers=L, num_heads=H, feedforward_channels=FFN), img_size=IMG,
                 vocab_size=VOCAB).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    head = torch.nn.Linear(D, VOCAB)
    _randomize(head, 1)
    return ref, ours, head


def _decoder(ours, head, images, use_cache=True):
    def run(rows, with_prefix, ids, positions, attn_mask, kv_cache):
        out = ours(image=images[rows] if with_prefix else None, text=ids, text_positions=positions,
                   attn_mask=attn_mask, kv_cache=kv_cache)[-1]
        return out[:, -ids.shape[1]:]
    return MaskPredictDecoder(run, head, MASK_ID, N_IMG, images.shape[0], L, use_cache=use_cache)


def _full_recompute(ours, head, images, tokens):
    """Logits at a MASK after ``tokens``: the whole [image; tokens; MASK] under the captioning mask."""
    ids = torch.cat([tokens, torch.full((tokens.shape[0], 1), MASK_ID)], dim=1)
    out = ours(image=images, text=ids, attn_mask=seq2seq_mask(N_IMG, ids.shape[1]))[-1]
    return head(out[:, -1])


def _script():
    """Images, and tokens per step with a beam reorder: 2 images -> 4 rows after step 1."""
    g = torch.Generator().manual_seed(3)
    images = torch.randn(2, 3, IMG, IMG, generator=g)
    words = torch.randint(5, VOCAB, (4, 6), generator=g)
    reorders = [torch.tensor([0, 0, 1, 1]), torch.tensor([1, 0, 3, 3]), torch.tensor([0, 1, 2, 3]),
                torch.tensor([1, 1, 2, 3]), torch.tensor([0, 1, 3, 2])]
    return images, words, reorders


def test_cache_equals_full_recomputation(models):
    _, ours, head = models
    images, words, reorders = _script()
    dec = _decoder(ours, head, images)
    tokens, rows, diffs = torch.full((2, 1), BOS), torch.arange(2), []
    with torch.no_grad():
        got = dec.step(tokens)
        diffs.append((got - _full_recompute(ours, head, images[rows], tokens)).abs().max().item())
        for step, index in enumerate(reorders):
            dec.reorder(index)
            rows, tokens = rows[index], tokens[index]
            tokens = torch.cat([tokens, words[:, step:step + 1]], dim=1)
            got = dec.step(tokens)
            assert dec.cache.length == N_IMG + tokens.shape[1]  # image, <s> ... w_t; the MASK's K/V dropped
            diffs.append((got - _full_recompute(ours, head, images[rows], tokens)).abs().max().item())
    assert max(diffs) < 1e-5, diffs  # ~1e-6 at fp32 (different summation order only)


def unilm_caption_forward(ref, head, image, ids, text_len, state):
    """Transcription of unilm ``BEiT3ForCaptioning.forward`` (1 = blocked in torchscale's attn_mask)."""
    image_len = ref.vision_embed.num_position_embeddings()
    n = text_len + image_len
    allowed = torch.zeros(n, n, dtype=torch.long)
    allowed[image_len:, image_len:] = torch.tril(torch.ones(text_len, text_len, dtype=torch.long))
    allowed[image_len:, :image_len] = 1
    allowed[:image_len, :image_len] = 1
    blocked, positions, padding = 1 - allowed, None, torch.zeros(ids.shape, dtype=torch.bool)
    for i in range(L):
        state.setdefault(i, {})
    if image is None:
        blocked, padding = blocked[-2:], None
        positions = torch.arange(text_len, ids.shape[1] + text_len).long().unsqueeze(0)
    out = ref(textual_tokens=ids, visual_tokens=image, text_padding_position=padding, attn_mask=blocked,
              incremental_state=state, positions=positions)['encoder_out']
    return head(out[:, image_len:] if image is not None else out)


def test_cached_steps_equal_torchscale_incremental_decoding(models):
    ref, ours, head = models
    images, words, reorders = _script()
    dec = _decoder(ours, head, images)
    state, diffs = {}, []
    with torch.no_grad():
        # unilm expands the image to the beams before step 1; beitmm encodes it once, then copies the cache
        expanded = images[reorders[0]]
        cur = torch.tensor([[BOS, MASK_ID]] * 4)
        want = unilm_caption_forward(ref, head, expanded, cur, 2, state)[:, 1]
        got = dec.step(torch.full((2, 1), BOS))[reorders[0]]
        diffs.append((got - want).abs().max().item())
        dec.reorder(reorders[0])
        tokens = torch.full((4, 1), BOS)
        for step, index in enumerate(reorders[1:] + [None]):
            for layer in state.values():  # the handler's reorder: index_select, then drop the MASK's K/V
                for key in layer:
                    layer[key] = layer[key][:, :, :-1]
            tokens = torch.cat([tokens, words[:, step:step + 1]], dim=1)
            cur = torch.stack([words[:, step], torch.full((4, ), MASK_ID)], dim=1)  # [previous token, MASK]
            want = unilm_caption_forward(ref, head, None, cur, tokens.shape[1] + 1, state)[:, 1]  # cur_len
            diffs.append((dec.step(tokens) - want).abs().max().item())
            if index is not None:
                dec.reorder(index)
                tokens = tokens[index]
                for layer in state.values():
                    for key in layer:
                        layer[key] = layer[key].index_select(0, index)
    assert max(diffs) < 1e-5, diffs


def test_cached_and_recomputed_beam_search_agree(models):
    _, ours, head = models
    images = torch.randn(3, 3, IMG, IMG, generator=torch.Generator().manual_seed(5))
    cfg = SearchConfig(max_len=10, eos_id=EOS, num_beams=3, length_penalty=0.6, final_token='eos')
    with torch.no_grad():
        cached = beam_search(_decoder(ours, head, images, True), torch.full((3, 1), BOS), cfg)
        full = beam_search(_decoder(ours, head, images, False), torch.full((3, 1), BOS), cfg)
    assert torch.equal(cached.tokens, full.tokens) and torch.equal(cached.lengths, full.lengths)
    torch.testing.assert_close(cached.scores, full.scores, rtol=1e-5, atol=1e-5)


def test_causal_decoding_without_mask_token(models):
    """s2s-ft causal decoding (``--pos_shift``): the output at the last token predicts the next one."""
    _, ours, head = models
    images, words, _ = _script()

    def run(rows, with_prefix, ids, positions, attn_mask, kv_cache):
        out = ours(image=images[rows] if with_prefix else None, text=ids, text_positions=positions,
                   attn_mask=attn_mask, kv_cache=kv_cache)[-1]
        return out[:, -ids.shape[1]:]
    dec = MaskPredictDecoder(run, head, None, N_IMG, 2, L)
    tokens, diffs = torch.full((2, 1), BOS), []
    with torch.no_grad():
        for step in range(4):
            got = dec.step(tokens)
            assert dec.cache.length == N_IMG + tokens.shape[1]  # nothing dropped
            full = ours(image=images, text=tokens, attn_mask=seq2seq_mask(N_IMG, tokens.shape[1]))[-1]
            diffs.append((got - head(full[:, -1])).abs().max().item())
            tokens = torch.cat([tokens, words[:2, step:step + 1]], dim=1)
        cfg = SearchConfig(max_len=8, eos_id=EOS, num_beams=2)
        cached = beam_search(MaskPredictDecoder(run, head, None, N_IMG, 2, L), torch.full((2, 1), BOS), cfg)
        full = beam_search(MaskPredictDecoder(run, head, None, N_IMG, 2, L, use_cache=False), torch.full((2, 1), BOS),
                           cfg)
    assert max(diffs) < 1e-5, diffs
    assert torch.equal(cached.tokens, full.tokens)
    with pytest.raises(ValueError, match='initial token'):
        MaskPredictDecoder(run, head, None, N_IMG, 2, L).step(torch.zeros(2, 0, dtype=torch.long))


def test_cache_bookkeeping_and_errors(models):
    _, ours, _ = models
    cache = KVCache(2)
    k = torch.arange(12.).view(2, 3, 2)
    cache[0].update(k, k + 100)
    cache.reorder(torch.tensor([1, 1, 0]))
    assert cache.rows == 3 and cache.length == 3 and torch.equal(cache[0].key[2], k[0])
    cache.drop_last(1)
    assert cache.length == 2 and torch.equal(cache[0].value[0], k[1, :2] + 100)
    with pytest.raises(ValueError, match='reorder'):
        cache[0].update(torch.zeros(2, 1, 2), torch.zeros(2, 1, 2))
    with pytest.raises(ValueError, match='text positions'):
        ours(text=torch.tensor([[5, 6]]), text_positions=torch.tensor([2000, 2001]))
    with pytest.raises(ValueError, match='one cache entry per layer'):
        ours(text=torch.tensor([[5, 6]]), kv_cache=KVCache(L + 1))
