"""s2s-ft's beam search (``SearchConfig(strategy='slots')``) on fake models with fixed log-probability tables.

Reference: a transcription, in plain Python over one sample, of ``BertForSeq2SeqDecoder.beam_search``
(``s2s_ft/modeling_decoding.py``): top-K of the one prefix row, then top-K of each slot's top-K with
``-10000`` after a slot ending in EOS (:1300-1325), the n-gram ban of ``get_dup_ngram_candidates`` and
``min_len`` (:1303-1306, :1410-1440), and the final choice among EOS entries and the last frame by
``score / ((5 + fid + 1) / 6) ** lp`` (:1458-1493).
"""
import math

import pytest
import torch
import torch.nn.functional as F

from beitmm.models.generation import SearchConfig, beam_search

PAD, SOS, EOS, V = 0, 1, 2, 9


class TableDecoder:
    """Stateless fake model: logits of (sample, tokens so far) from a seeded random table, EOS boosted."""

    def __init__(self, seed, batch, eos_boost=1.0, second_only=False):
        self.seed, self.rows, self.eos_boost, self.second_only, self.log = seed, torch.arange(batch), eos_boost, \
            second_only, []

    def logits(self, sample, tokens):
        g = torch.Generator().manual_seed(hash((self.seed, sample, tuple(tokens))) % (2**31))
        x = torch.randn(V, generator=g) * 2
        x[PAD] = -30.
        x[EOS] += self.eos_boost * (len(tokens) == 1 if self.second_only else len(tokens))
        return x

    def step(self, tokens):
        self.log.append(tokens.clone())
        return torch.stack([self.logits(int(s), t.tolist()) for s, t in zip(self.rows, tokens, strict=True)])

    def reorder(self, index):
        self.rows = self.rows[index]


def official_beam(logits, init, K, steps, lp, min_len, ngram, ignore):
    """One sample through s2s-ft's beam search (module docstring), returning the generated tokens."""
    def log_probs(seq, forbid):
        x = F.log_softmax(logits(init + seq), dim=-1)
        for w in forbid:
            x[w] += -10000.0
        if min_len and len(seq) + 1 <= min_len:
            x[EOS] = -10000.0
        return x

    def dup(seq):  # get_dup_ngram_candidates
        if not ngram or len(seq) < ngram:
            return []
        tail = seq[-(ngram - 1):]
        if any(t in ignore for t in tail):
            return []
        return sorted({seq[i + ngram - 1] for i in range(len(seq) - ngram + 1)
                       if seq[i:i + ngram - 1] == tail and seq[i + ngram - 1] not in ignore})

    top = torch.topk(log_probs([], []), K)
    scores, wids, ptrs = [top.values.tolist()], [top.indices.tolist()], [[0] * K]
    seqs = [[w] for w in wids[0]]
    for _ in range(steps - 1):
        kk_s, kk_i = [], []
        for k in range(K):
            t = torch.topk(log_probs(seqs[k], dup(seqs[k]) if len(seqs[0]) >= ngram else []), K)
            extra = (-10000.0 if wids[-1][k] == EOS else 0.0) + scores[-1][k]
            kk_s += (t.values + extra).tolist()
            kk_i += t.indices.tolist()
        best = torch.topk(torch.tensor(kk_s), K)
        ptr = [i // K for i in best.indices.tolist()]
        wids.append([kk_i[i] for i in best.indices.tolist()])
        scores.append(best.values.tolist())
        ptrs.append(ptr)
        seqs = [seqs[p] + [w] for p, w in zip(ptr, wids[-1], strict=True)]
    last = next((f for f, w in enumerate(wids) if all(x == EOS for x in w)), len(wids) - 1)
    best_s, frame, pos = -math.inf, -1, -1
    for f in range(last + 1):
        for i, w in enumerate(wids[f]):
            if w == EOS or f == last:
                s = scores[f][i] / (math.pow((5 + f + 1) / 6.0, lp) if lp > 0 else 1.0)
                if s > best_s:
                    best_s, frame, pos = s, f, i
    seq = [wids[frame][pos]]
    for f in range(frame, 0, -1):
        pos = ptrs[f][pos]
        seq.append(wids[f - 1][pos])
    return seq[::-1], best_s


CASES = [(K, lp, t0, seed) for K, lp in ((5, 0.), (5, 0.9), (5, 1.5), (3, 2.0), (8, 0.9)) for t0 in (0, 1)
         for seed in range(3)]


@pytest.mark.parametrize('K,lp,t0,seed', CASES)
def test_slots_equal_the_official_transcription(K, lp, t0, seed):
    B, steps = 3, 7
    init = torch.full((B, t0), SOS)
    cfg = SearchConfig(max_len=t0 + steps, eos_id=EOS, pad_id=PAD, num_beams=K, length_penalty=lp, penalty='gnmt',
                       min_len=1, no_repeat_ngram_size=2, ngram_ignore_ids=(3, ), strategy='slots')
    dec = TableDecoder(seed, B)
    out = beam_search(dec, init, cfg)
    for b in range(B):
        ref, score = official_beam(lambda toks, b=b: TableDecoder(seed, B).logits(b, toks), [SOS] * t0, K, steps,
                                   lp, 1, 2, {3})
        assert out.tokens[b, :out.lengths[b]].tolist() == [SOS] * t0 + ref
        assert out.scores[b].item() == pytest.approx(score, rel=1e-5)
        assert out.tokens[b, out.lengths[b]:].eq(PAD).all()


def test_finished_slots_stay_and_change_the_answer_at_lp_1_5():
    """A case (beam 5, lp 1.5) where a finished hypothesis holds its slot.

    So fewer beams continue than in BeamHypotheses and the answers differ; s2s-ft's answer is the
    transcription's (the table was found by a search over seeds).
    """
    seed, K, steps = 15, 5, 7
    cfg = dict(max_len=steps, eos_id=EOS, pad_id=PAD, num_beams=K, length_penalty=1.5, penalty='gnmt')
    start = torch.zeros(1, 0, dtype=torch.long)
    dec = TableDecoder(seed, 1, eos_boost=3.0, second_only=True)
    slots = beam_search(dec, start, SearchConfig(**cfg, strategy='slots'))
    hyps = beam_search(TableDecoder(seed, 1, eos_boost=3.0, second_only=True), start, SearchConfig(**cfg))
    ref, _ = official_beam(lambda toks: TableDecoder(seed, 1, 3.0, True).logits(0, toks), [], K, steps, 1.5, 0, 0,
                           set())
    assert dec.log[1][:, -1].eq(EOS).sum() == 1  # second step: one of the five slots holds a finished hypothesis
    assert slots.tokens[0, :slots.lengths[0]].tolist() == ref == [4, 6, 3, 7, 1, 6, 6]
    assert hyps.tokens[0, :hyps.lengths[0]].tolist() == [4, 7, 6, 1, 5, 1, 8]


def test_slots_stop_once_every_sample_has_an_all_eos_frame():
    calls = []

    class EosFirst(TableDecoder):
        def step(self, tokens):
            calls.append(tokens.shape[1])
            x = torch.full((tokens.shape[0], V), -5.)
            x[:, EOS] = 5.
            return x

    out = beam_search(EosFirst(0, 2), torch.zeros(2, 0, dtype=torch.long),
                      SearchConfig(max_len=10, eos_id=EOS, num_beams=1, strategy='slots'))
    assert calls == [0]  # one slot, EOS: frame 0 is all EOS and settles both samples
    assert out.tokens.tolist() == [[EOS], [EOS]] and out.lengths.tolist() == [1, 1]
    calls.clear()
    out = beam_search(EosFirst(0, 2), torch.zeros(2, 0, dtype=torch.long),
                      SearchConfig(max_len=4, eos_id=EOS, num_beams=2, strategy='slots'))
    assert calls == [0, 1, 2, 3]  # two slots never hold EOS together here: the search runs to max_len
    assert out.tokens.tolist() == [[EOS], [EOS]]  # the EOS of frame 0 has the best score
