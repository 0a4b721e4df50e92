"""Replacement sampling on a fixed toy distribution: hand-computed probabilities, hard tokens drawn more often."""
import pytest
import torch

from beitmm.models.algorithms import ReplacementSampler, sample_tokens

P = torch.tensor([0.4, 0.3, 0.1, 0.1, 0.05, 0.05])  # the generator's distribution
H = torch.tensor([0.1, 0.1, 0.1, 2.0, 2.0, 2.0])  # predicted discriminator loss: tokens 3, 4, 5 are hard
HARD = torch.tensor([False, False, False, True, True, True])
N = 20000


def _draw(mode: str, method: str, seed: int = 0):
    sampler = ReplacementSampler(mode=mode, method=method)
    logits = P.log()[None].expand(N, -1)
    hardness = H[None].expand(N, -1) if mode == 'hardness' else None
    return sampler(logits, hardness, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('method', ['multinomial', 'gumbel'])
def test_hardness_aware_sampling_draws_hard_replacements_more_often(method):
    plain, w_plain = _draw('plain', method)
    hard, weights = _draw('hardness', method)
    assert w_plain is None
    freq_plain = torch.bincount(plain, minlength=6).float() / N
    freq_hard = torch.bincount(hard, minlength=6).float() / N
    # by hand: plain P(hard) = 0.1 + 0.05 + 0.05 = 0.2; q ∝ p·h = [.04 .03 .01 .2 .1 .1] / 0.48 -> P(hard) = 0.4 / 0.48
    q = torch.tensor([0.04, 0.03, 0.01, 0.2, 0.1, 0.1]) / 0.48
    assert (freq_plain - P).abs().max() < 0.012 and (freq_hard - q).abs().max() < 0.012
    assert abs(freq_plain[HARD].sum() - 0.2) < 0.012 and abs(freq_hard[HARD].sum() - 0.4 / 0.48) < 0.012
    assert freq_hard[HARD].sum() > freq_plain[HARD].sum() + 0.5
    # importance weights p / q = 0.48 / h(w), self-normalised to mean 1: they undo the re-weighting
    raw = 0.48 / H[hard]
    torch.testing.assert_close(weights, raw / raw.mean())
    est = torch.zeros(6).index_add_(0, hard, weights) / N  # self-normalised importance estimate of p
    assert (est - P).abs().max() < 0.02


def test_plain_is_the_generator_distribution_without_gradient_and_argmax_at_zero_temperature():
    logits = torch.randn(5, 7, requires_grad=True)
    ids, w = ReplacementSampler()(logits)
    assert ids.shape == (5, ) and not ids.requires_grad and w is None
    assert torch.equal(ReplacementSampler(temperature=0.)(logits)[0], logits.argmax(-1))
    assert torch.equal(sample_tokens(logits, 0.), logits.argmax(-1))
    # a flat hardness leaves the distribution unchanged: the same draws as plain sampling, unit weights
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    flat = ReplacementSampler(mode='hardness')(logits, torch.full((5, 7), 0.7), g1)
    assert torch.equal(flat[0], ReplacementSampler()(logits, None, g2)[0])
    torch.testing.assert_close(flat[1], torch.ones(5))


def test_zero_temperature_is_the_generators_argmax_in_hardness_mode():
    # P's argmax is token 0 (0.4); q ∝ p·h = [.04 .03 .01 .2 .1 .1] / 0.48 has its argmax at token 3
    logits, hardness = P.log()[None].expand(4, -1), H[None].expand(4, -1)
    ids, weights = ReplacementSampler(mode='hardness', temperature=0.)(logits, hardness)
    assert ids.tolist() == [0] * 4 and weights is None
    # the limit T = 0 stands for: at T = 0.01, q ∝ P^100 · H gives token 3 (0.1 / 0.4)^100 · 20 ≈ 1e-59 of token 0
    log_q = ReplacementSampler(mode='hardness', temperature=0.01).proposal(logits, hardness)[1]
    assert log_q.exp()[0, 0] > 1 - 1e-6
    with pytest.raises(ValueError, match='hardness head'):
        ReplacementSampler(mode='hardness', temperature=0.)(logits)


def test_global_stream_draws_repeat_under_the_same_torch_seed():
    logits = torch.randn(64, 9)
    torch.manual_seed(5)
    a = ReplacementSampler(method='gumbel')(logits)[0]
    torch.manual_seed(5)
    assert torch.equal(a, ReplacementSampler(method='gumbel')(logits)[0])


@pytest.mark.parametrize('kw,words', [(dict(mode='hard'), 'mode must be one of'),
                                      (dict(method='topk'), 'method must be one of'),
                                      (dict(temperature=-1.), 'temperature must be >= 0'),
                                      (dict(hardness_power=-1.), 'hardness_power')])
def test_bad_settings_name_the_setting(kw, words):
    with pytest.raises(ValueError, match=words):
        ReplacementSampler(**kw)


def test_hardness_mode_without_predictions_says_so():
    with pytest.raises(ValueError, match='hardness head'):
        ReplacementSampler(mode='hardness')(torch.randn(3, 4))
