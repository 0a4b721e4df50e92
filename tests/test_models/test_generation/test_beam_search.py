"""Beam and greedy search on fake models with fixed log-probabilities.

References: results worked out by hand on a 5-token vocabulary, a transcription of unilm's caption loop
(``beit3/engine_for_finetuning.py::CaptioningHandler.eval_batch`` with ``utils.BeamHypotheses``, one kept
hypothesis) and of s2s-ft's ``get_dup_ngram_candidates`` (``s2s_ft/modeling_decoding.py``).
"""
import math
import random

import pytest
import torch
import torch.nn.functional as F

from beitmm.models.generation import FORBID, SearchConfig, beam_search, greedy_search, ngram_forbid_mask

PAD, BOS, EOS, A, B = 0, 1, 2, 3, 4
MASK = -1  # unilm's placeholder in its decoding buffer (a [MASK] id: skipped when decoded)


class TableDecoder:
    """A stateless fake model: the log-probs of the next token depend on (sample, tokens so far) only."""

    def __init__(self, fn, batch):
        self.fn, self.rows, self.calls = fn, torch.arange(batch), []

    def step(self, tokens):
        self.calls.append(tokens.shape[0])
        return torch.stack([self.fn(int(s), t.tolist()) for s, t in zip(self.rows, tokens, strict=True)])

    def reorder(self, index):
        self.rows = self.rows[index]


def hand_table(sample, tokens):
    probs = {(BOS, ): {EOS: .3, A: .5, B: .2}, (BOS, A): {EOS: .55, A: .1, B: .35}, (BOS, B): {EOS: .9, A: .05, B: .05}}
    p = probs.get(tuple(tokens), {EOS: .5, A: .25, B: .25})
    return torch.tensor([math.log(p[i]) if i in p else float('-inf') for i in range(5)])


@pytest.mark.parametrize('alpha,penalty,tokens,score', [
    (0.6, 'power', [BOS, A, EOS], (math.log(.5) + math.log(.55)) / 3**.6),  # length penalty favours the longer
    (0.0, 'power', [BOS, EOS], math.log(.3)),  # raw log-prob: <s> </s> (-1.204 > -1.291); done at step 2
    (1.0, 'gnmt', [BOS, A, EOS], (math.log(.5) + math.log(.55)) / (8 / 6)),  # -0.968 > log(.3) / (7 / 6)
])
def test_beam_search_by_hand(alpha, penalty, tokens, score):
    dec = TableDecoder(hand_table, 1)
    out = beam_search(dec, torch.tensor([[BOS]]), SearchConfig(max_len=4, eos_id=EOS, pad_id=PAD, num_beams=2,
                                                               length_penalty=alpha, penalty=penalty))
    assert out.tokens[0, :out.lengths[0]].tolist() == tokens
    assert out.scores[0].item() == pytest.approx(score, abs=1e-6)
    assert dec.calls[0] == 1 and set(dec.calls[1:]) == {2}  # the prefix is encoded once, then 2 beams


def test_min_len_forbids_an_early_eos():
    out = beam_search(TableDecoder(hand_table, 1), torch.tensor([[BOS]]),
                      SearchConfig(max_len=4, eos_id=EOS, num_beams=2, min_len=1))
    assert out.tokens[0].tolist() == [BOS, A, EOS]  # <s> </s> (the best at alpha 0) is not allowed
    assert out.scores[0].item() == pytest.approx(math.log(.5) + math.log(.55), abs=1e-6)


def official_caption_beam(fn, batch, num_beams, max_len, alpha):
    """Transcription of unilm's caption loop; ``max_len`` is its ``num_max_bpe_tokens``.

    Returns the kept token lists, their scores and the model calls made before the forced last step (unilm makes
    one more at ``cur_len == max_len``, which can add nothing).
    """
    K, cur_len, calls = num_beams, 2, 0
    results = [[BOS] + [MASK] * (max_len - 1) for _ in range(batch * K)]
    beam_scores = torch.tensor([0. if k == 0 else -1e9 for _ in range(batch) for k in range(K)])
    hyps, worst, done = [[] for _ in range(batch)], [1e9] * batch, [False] * batch
    while cur_len <= max_len:
        calls += cur_len < max_len
        logits = torch.stack([fn(r // K, results[r][:cur_len - 1]) for r in range(batch * K)])
        scores = F.log_softmax(logits, dim=-1) + beam_scores[:, None]
        V = scores.shape[1]
        next_scores, next_words = torch.topk(scores.view(batch, K * V), 3 * K, dim=1, largest=True, sorted=True)
        next_batch = []
        for b in range(batch):
            if not done[b] and hyps[b]:  # is_done: worst kept >= best open / (max_len - 1) ** alpha
                done[b] = worst[b] >= next_scores[b].max().item() / (max_len - 1)**alpha
            if done[b]:
                next_batch += [(0., PAD, 0)] * K
                continue
            sent = []
            for idx, score in zip(next_words[b].tolist(), next_scores[b].tolist(), strict=True):
                beam, word = idx // V, idx % V
                if (word == EOS and cur_len + 1 <= max_len) or cur_len + 1 == max_len:
                    hyp = results[b * K + beam][:cur_len]
                    normed = score / len(hyp)**alpha  # BeamHypotheses.add with one kept hypothesis
                    if not hyps[b] or normed > worst[b]:
                        hyps[b], worst[b] = [(normed, hyp)], normed
                else:
                    sent.append((score, word, b * K + beam))
                if len(sent) == K:
                    break
            next_batch += sent or [(0., PAD, 0)] * K
        beam_scores = torch.tensor([x[0] for x in next_batch])
        results = [list(results[x[2]]) for x in next_batch]
        for r, x in enumerate(next_batch):
            results[r][cur_len - 1] = x[1]
        cur_len += 1
        if all(done):
            break
    # the kept hypothesis ends with the unfilled [MASK] slot; unilm appends </s> after it and skips both
    return [[t for t in h[0][1] if t != MASK] + [EOS] for h in hyps], [h[0][0] for h in hyps], calls


def random_table(seed, vocab=7):
    def fn(sample, tokens):
        key = (seed * 1000003 + sample * 7919 + sum((t + 3) * 31**i for i, t in enumerate(tokens))) % 2**31
        g = torch.Generator().manual_seed(key)
        logits = torch.randn(vocab, generator=g) * 2
        logits[PAD] = logits[BOS] = -30.  # never chosen in practice
        logits[EOS] += 0.4 * len(tokens) - 1  # captions end after a few tokens
        return logits
    return fn


@pytest.mark.parametrize('seed', range(12))
@pytest.mark.parametrize('num_beams,alpha', [(3, 0.6), (2, 0.0), (1, 0.6), (4, 1.0)])
def test_beam_search_equals_the_official_caption_loop(seed, num_beams, alpha):
    fn, batch, official_len = random_table(seed), 3, 8
    want, want_scores, calls = official_caption_beam(fn, batch, num_beams, official_len, alpha)
    dec = TableDecoder(fn, batch)
    out = beam_search(dec, torch.full((batch, 1), BOS),
                      SearchConfig(max_len=official_len - 1, eos_id=EOS, pad_id=PAD, num_beams=num_beams,
                                   length_penalty=alpha, final_token='eos'))
    got = [out.tokens[b, :out.lengths[b]].tolist() for b in range(batch)]
    assert got == want
    assert out.scores.tolist() == pytest.approx(want_scores, abs=1e-5)
    assert len(dec.calls) == calls  # stops when unilm's is_done says so


@pytest.mark.parametrize('seed', range(8))
def test_one_beam_without_length_penalty_is_greedy(seed):
    fn, batch = random_table(seed, vocab=9), 4
    cfg = SearchConfig(max_len=9, eos_id=EOS, pad_id=PAD, num_beams=1)
    beam = beam_search(TableDecoder(fn, batch), torch.full((batch, 1), BOS), cfg)
    greedy = greedy_search(TableDecoder(fn, batch), torch.full((batch, 1), BOS), cfg)
    assert torch.equal(beam.tokens, greedy.tokens) and torch.equal(beam.lengths, greedy.lengths)
    torch.testing.assert_close(beam.scores, greedy.scores)
    for b in range(batch):  # greedy: the argmax of each step, up to the first EOS
        seq = [BOS]
        while seq[-1] != EOS and len(seq) < cfg.max_len:
            seq.append(int(fn(b, seq).argmax()))
        assert greedy.tokens[b, :greedy.lengths[b]].tolist() == seq


def always_a(sample, tokens):  # a > b > eos whatever came before
    return torch.tensor([-30., -30., math.log(.1), math.log(.6), math.log(.3)])


@pytest.mark.parametrize('size,ignore,expected', [
    (0, (), [A] * 7),  # cut at max_len = 8 tokens
    (2, (), [A, A, B, A, EOS]),  # (a a) seen -> b; (a a) and (a b) seen -> neither a nor b after a -> EOS
    (2, (A, ), [A] * 7),  # n-grams holding 'a' are exempt
    (3, (), [A, A, A, B, A, A, EOS]),  # (a a a) seen -> b; after (a a): (a a a) and (a a b) seen -> EOS
])
def test_greedy_with_forbidden_ngrams(size, ignore, expected):
    cfg = SearchConfig(max_len=8, eos_id=EOS, no_repeat_ngram_size=size, ngram_ignore_ids=ignore)
    out = greedy_search(TableDecoder(always_a, 1), torch.tensor([[BOS]]), cfg)
    assert out.tokens[0, :out.lengths[0]].tolist() == [BOS] + expected


def s2s_ft_dup_candidates(seq, n, ignore):
    """Transcription of s2s-ft ``get_dup_ngram_candidates``."""
    if len(seq) < n:
        return []
    tail = seq[-(n - 1):]
    if ignore and any(t in ignore for t in tail):
        return []
    cands = set()
    for i in range(len(seq) - (n - 1)):
        if all(tail[j] == seq[i + j] for j in range(n - 1)) and not (ignore and seq[i + n - 1] in ignore):
            cands.add(seq[i + n - 1])
    return sorted(cands)


@pytest.mark.parametrize('n', [2, 3, 4])
def test_ngram_mask_equals_s2s_ft(n):
    rng = random.Random(n)
    for _ in range(60):
        g, ignore = rng.randint(0, 10), tuple(rng.sample(range(5), rng.randint(0, 2)))
        seqs = torch.tensor([[rng.randrange(5) for _ in range(g)] for _ in range(4)], dtype=torch.long).view(4, g)
        mask = ngram_forbid_mask(seqs, n, 6, ignore)
        for row, m in zip(seqs.tolist(), mask, strict=True):
            assert m.nonzero().flatten().tolist() == s2s_ft_dup_candidates(row, n, ignore)


def test_forbidden_scores_and_bad_config():
    cfg = SearchConfig(max_len=3, eos_id=EOS, no_repeat_ngram_size=2)
    out = greedy_search(TableDecoder(always_a, 1), torch.tensor([[BOS, A, A]])[:, :2], cfg)
    assert out.tokens[0].tolist() == [BOS, A, A]  # initial tokens are not generated ones: nothing repeats
    assert FORBID == -10000.0
    with pytest.raises(ValueError, match='penalty'):
        SearchConfig(max_len=3, eos_id=EOS, penalty='exp')
    with pytest.raises(ValueError, match='initial tokens'):
        beam_search(TableDecoder(always_a, 1), torch.tensor([[BOS, A, A]]), cfg)
