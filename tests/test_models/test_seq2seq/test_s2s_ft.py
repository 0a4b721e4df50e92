"""s2s-ft: packing and attention masks against hand-written tables, corruption rates, the loss by hand, training.

Each algorithm trains and decodes (cached = recomputed) on a tiny encoder.
"""
import math

import pytest
import torch
from mmpretrain.structures import DataSample

from beitmm.models.generation import seq2seq_mask
from beitmm.models.seq2seq import corrupt, pack, s2s_smoothed_loss
from beitmm.registry import MODELS
from beitmm.testing.vl import TINY_BEIT3, tiny_tokenizer

CLS, SEP, PAD, MASK = 0, 2, 1, 99
RANDOM = torch.arange(10, 20)


def test_packing_positions_follow_the_real_source_length():
    """Source padding leaves no gap; each pseudo token repeats its target's position (s2s-ft Seq2seqDatasetForBert)."""
    p = pack([[CLS, 5, 6, SEP], [CLS, 7, SEP]], [[8, 9, SEP], [4, SEP]], 'pseudo-masked', MASK, PAD, SEP, RANDOM,
             target_mask_prob=0.)
    assert p.ids()[:, :4].tolist() == [[CLS, 5, 6, SEP], [CLS, 7, SEP, PAD]]
    assert p.target.tolist() == [[8, 9, SEP], [4, SEP, PAD]]  # no word drop at target_mask_prob 0
    assert p.positions().tolist() == [[0, 1, 2, 3, 4, 5, 6, 4, 5, 6],
                                      [0, 1, 2, 3, 3, 4, 5, 3, 4, 5]]
    assert p.segments().tolist() == [[0] * 4 + [1] * 6] * 2
    assert p.labels.tolist() == [[8, 9, SEP], [4, SEP, PAD]] and p.predict.tolist() == [[True] * 3, [True, True,
                                                                                                   False]]


def test_pseudo_masked_mask_is_the_reference_table():
    """[S0 S1 | T0 T1 | P0 P1]: S sees S; T_i sees S, T_j<=i; P_i sees S, T_j<i and itself (written out by hand)."""
    table = [  # keys: S0 S1 T0 T1 P0 P1
        [1, 1, 0, 0, 0, 0],  # S0
        [1, 1, 0, 0, 0, 0],  # S1
        [1, 1, 1, 0, 0, 0],  # T0
        [1, 1, 1, 1, 0, 0],  # T1
        [1, 1, 0, 0, 1, 0],  # P0
        [1, 1, 1, 0, 0, 1],  # P1
    ]
    assert seq2seq_mask(2, 2, pseudo=True)[0, 0].int().tolist() == table
    padded = seq2seq_mask(2, 2, torch.tensor([[False, True]]), torch.tensor([[False, True]]), pseudo=True)[0, 0]
    assert not padded[:, 1].any() and not padded[:, 3].any() and not padded[:, 5].any()  # padding never seen


def test_causal_packing_shifts_the_target():
    p = pack([[CLS, 5, SEP]], [[8, 9, SEP]], 'causal', MASK, PAD, SEP, RANDOM, target_mask_prob=0.)
    assert p.source.tolist() == [[CLS, 5]]  # v0: no trailing [SEP] in the source
    assert p.target.tolist() == [[SEP, 8, 9]] and p.labels.tolist() == [[8, 9, SEP]]
    assert p.positions().tolist() == [[0, 1, 2, 3, 4]]


def test_masked_packing_corrupts_min_cap_and_fraction_at_least_one():
    g = torch.Generator().manual_seed(0)
    targets = [[3 + i for i in range(9)] + [SEP], [4, SEP]]  # m = 10 and 2
    p = pack([[CLS, SEP]] * 2, targets, 'masked', MASK, PAD, SEP, RANDOM, target_mask_prob=0.5,
             num_max_mask_token=3, generator=g)
    assert p.predict.sum(1).tolist() == [3, 1]  # min(3, int(0.5 * 10)) and max(1, int(0.5 * 2))
    assert ((p.labels != PAD) == p.predict).all()


def test_corruption_is_80_10_10():
    g = torch.Generator().manual_seed(0)
    ids = torch.full((200, 200), 5)
    out = corrupt(ids, torch.ones_like(ids, dtype=torch.bool), MASK, RANDOM, generator=g)
    n = ids.numel()
    assert (out == MASK).sum() / n == pytest.approx(0.8, abs=0.01)
    assert ((out >= 10) & (out < 20)).sum() / n == pytest.approx(0.1, abs=0.01)
    assert (out == 5).sum() / n == pytest.approx(0.1, abs=0.01)


def test_label_smoothed_loss_by_hand():
    logits = torch.tensor([[2., 0., 1., -1.]])  # V = 4, pad id 1: eps / (V - 2) on ids 0 and 3
    eps, label = 0.1, 2
    logp = [z - math.log(sum(math.exp(v) for v in logits[0].tolist())) for z in logits[0].tolist()]
    target = [eps / 2, 0., 1 - eps, eps / 2]
    kl = sum(t * (math.log(t) - lp) for t, lp in zip(target, logp, strict=True) if t > 0)
    assert s2s_smoothed_loss(logits, torch.tensor([label]), eps, pad_id=1).item() == pytest.approx(kl / (1 + 1e-5))


def _model(algorithm: str, **kwargs):
    torch.manual_seed(0)
    kwargs.setdefault('ngram_ignore_words', ())
    model = MODELS.build(dict(type='beitmm.Seq2SeqFinetuner', algorithm=algorithm, max_source_len=16,
                              max_target_len=10, num_beams=3,
                              backbone=dict(type='beitmm.BEiT3', arch=TINY_BEIT3, modalities=('language', ),
                                            vocab_size=160, max_text_positions=40),
                              tokenizer=tiny_tokenizer(), **kwargs))
    model.init_weights()
    return model


@pytest.mark.parametrize('algorithm', ['pseudo-masked', 'masked', 'causal'])
def test_each_algorithm_learns_a_mapping_and_decodes_the_same_with_the_cache(algorithm):
    model = _model(algorithm)
    pairs = [('red circle left', 'left circle red'), ('a blue square on the top of the image', 'top square')]
    samples = [DataSample(src=s, tgt=t) for s, t in pairs]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(60):
        loss = model(data_samples=samples, mode='loss')['loss']
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    sources = model._tokenize(samples, with_target=False)[0]
    cached, full = model.generate(sources), model.generate(sources, use_cache=False)
    assert torch.equal(cached.tokens, full.tokens)
    assert [s.pred_text for s in model(data_samples=samples, mode='predict')] == [t for _, t in pairs]


def test_bad_input_names_the_sample_or_word():
    model = _model('pseudo-masked')
    with pytest.raises(ValueError, match=r'sample 1 \(line 7\) has an empty target'):
        model(data_samples=[DataSample(src='a', tgt='b'), DataSample(src='a', tgt=' ', line=7)], mode='loss')
    with pytest.raises(ValueError, match="ngram_ignore_words: 'zzqx' is not one token"):
        _model('causal', ngram_ignore_words=('zzqx', ))


def test_vlmo_text_positions_reproduce_the_default_and_the_cache_decodes_the_same():
    """VLMo's text branch: explicit positions 0..N-1 give the default forward; s2s-ft decodes the same cached."""
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='beitmm.VLMo', arch=dict(TINY_BEIT3, vlffn_start=2), vocab_size=160,
                                 max_text_len=40, rel_pos_text_len=40))
    backbone.init_weights()
    torch.nn.init.normal_(backbone.relative_position_bias_table, std=0.5)  # a bias that matters
    ids = torch.randint(5, 150, (2, 9))
    torch.testing.assert_close(backbone(text=ids, text_positions=torch.arange(9))[-1], backbone(text=ids)[-1])
    with pytest.raises(ValueError, match='rel_pos_text_len=40'):
        backbone(text=ids, text_positions=torch.arange(9) + 35)
    model = MODELS.build(dict(type='beitmm.Seq2SeqFinetuner', max_source_len=16, max_target_len=10, num_beams=3,
                              ngram_ignore_words=(), tokenizer=tiny_tokenizer('wordpiece'),
                              backbone=dict(type='beitmm.VLMo', arch=dict(TINY_BEIT3, vlffn_start=2),
                                            vocab_size=160, max_text_len=40, rel_pos_text_len=40)))
    model.init_weights()
    torch.nn.init.normal_(model.backbone.relative_position_bias_table, std=0.5)
    model.eval()
    samples = [DataSample(src='red circle left'), DataSample(src='a blue square on the top of the image')]
    sources = model._tokenize(samples, with_target=False)[0]
    cached, full = model.generate(sources), model.generate(sources, use_cache=False)
    assert torch.equal(cached.tokens, full.tokens) and torch.allclose(cached.scores, full.scores, atol=1e-5)
    model.train()
    loss = model(data_samples=[DataSample(src='red circle', tgt='circle red')], mode='loss')['loss']
    loss.backward()
    assert model.backbone.relative_position_bias_table.grad.abs().sum() > 0
