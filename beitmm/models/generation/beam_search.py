"""Beam search and greedy decoding over an incremental decoder (BEiT-3 captioning, s2s-ft).

The beam search is the one of unilm ``beit3/engine_for_finetuning.py::CaptioningHandler.eval_batch`` with
``utils.BeamHypotheses`` (one kept hypothesis), vectorised over the batch: beams start from one row (the others
at -1e9), each step takes the best ``2 * num_beams`` continuations over all beams; a continuation ending in EOS
(ranked above the ``num_beams``-th open one) is a finished hypothesis scored ``sum log p / penalty(len)``, the
others refill the beams; a sample is done when its best finished score beats the best open score divided by
``penalty(max_len)``; at ``max_len`` every surviving candidate finishes. unilm takes the top ``3 * num_beams``;
the first ``2 * num_beams`` always hold ``num_beams`` open ones (a beam has one EOS), so the result is the same.

s2s-ft's decoding options (``decode_seq2seq.py``) plug in: the GNMT length penalty ``((5 + len) / 6) ** alpha``,
``min_len`` (EOS scored -10000 until that many tokens were generated) and forbidden duplicate n-grams with
ignore words (-10000 for a token completing an n-gram the hypothesis already has, unless the n-gram holds an
ignored token). ``len`` counts the hypothesis' tokens, the initial ones (BEiT-3's ``<s>``) and EOS included.

``strategy='slots'`` selects s2s-ft's own beam search instead (:func:`slot_beam_search`, same scoring rules):
K slots, finished hypotheses keep their slot, the answer is chosen after the search, ``len`` counts generated
tokens only (``--pos_shift`` does not count its start [SEP]).
"""
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor

FORBID = -10000.0  # s2s-ft's score of a forbidden token (added, not -inf: a hypothesis stays finite)
PENALTIES = ('power', 'gnmt')
FINAL_TOKENS = ('keep', 'eos')
STRATEGIES = ('hypotheses', 'slots')


class IncrementalDecoder(Protocol):
    """What the searches drive: logits of the next token of each row, and row reordering."""

    def step(self, tokens: Tensor) -> Tensor:
        """Logits [R, V] of the token after ``tokens`` [R, t] (every target token so far, initial ones included)."""

    def reorder(self, index: Tensor) -> None:
        """Row i continues old row ``index[i]`` (beam expansion / reordering)."""


@dataclass
class SearchConfig:
    """Decoding options.

    Args:
        max_len: Longest hypothesis in tokens, initial tokens and the final EOS included (BEiT-3 captioning: the
            caption loop of unilm ends at ``num_max_bpe_tokens - 1`` = 31). At this length every surviving
            candidate finishes.
        eos_id: End-of-sequence id.
        pad_id: Id after the end of shorter outputs.
        num_beams: Beams per sample.
        length_penalty: alpha (BEiT-3: 0.6; s2s-ft: 0 = off, e.g. 0.9 for unilm2 on XSum).
        penalty: ``'power'``: ``score / len ** alpha`` (BEiT-3); ``'gnmt'``: ``score / ((5 + len) / 6) ** alpha``
            (s2s-ft ``--length_penalty``).
        min_len: Tokens generated (initial tokens not counted) before EOS may come (s2s-ft ``--min_len``).
        no_repeat_ngram_size: Forbid repeating an n-gram of this size (s2s-ft ``--forbid_duplicate_ngrams``
            with ``--ngram_size``, default 3 there); 0 = off. Only generated tokens count.
        ngram_ignore_ids: Ids exempt from the n-gram rule (s2s-ft ``--forbid_ignore_word``, e.g. the id of ".").
        final_token: What ends a hypothesis cut at ``max_len``: ``'keep'`` its last predicted token (s2s-ft) or
            ``'eos'`` in its place (unilm's caption loop drops that token and appends ``</s>``).
        strategy: Beam selection (``num_beams`` > 1): ``'hypotheses'`` (BEiT-3 / HF ``BeamHypotheses``, the
            default) or ``'slots'`` (s2s-ft ``BertForSeq2SeqDecoder.beam_search``, :func:`slot_beam_search`).
    """

    max_len: int
    eos_id: int
    pad_id: int = 0
    num_beams: int = 1
    length_penalty: float = 0.
    penalty: str = 'power'
    min_len: int = 0
    no_repeat_ngram_size: int = 0
    ngram_ignore_ids: Sequence[int] = field(default_factory=tuple)
    final_token: str = 'keep'
    strategy: str = 'hypotheses'

    def __post_init__(self) -> None:
        if self.penalty not in PENALTIES or self.final_token not in FINAL_TOKENS or self.strategy not in STRATEGIES:
            raise ValueError(f'penalty {self.penalty!r} (one of {PENALTIES}), final_token {self.final_token!r} '
                             f'(one of {FINAL_TOKENS}), strategy {self.strategy!r} (one of {STRATEGIES})')
        if self.num_beams < 1 or self.max_len < 1 or self.no_repeat_ngram_size < 0 or self.min_len < 0:
            raise ValueError(f'num_beams {self.num_beams} and max_len {self.max_len} must be >= 1, '
                             f'no_repeat_ngram_size {self.no_repeat_ngram_size} and min_len {self.min_len} >= 0')

    def normalise(self, score: Tensor, length: Union[int, Tensor]) -> Tensor:
        """``score`` divided by the length penalty of a hypothesis of ``length`` tokens (int or float tensor)."""
        if not self.length_penalty:
            return score
        base = length if self.penalty == 'power' else (5 + length) / 6
        return score / base**self.length_penalty


class Generated(NamedTuple):
    """Search output.

    ``tokens`` [B, L] (initial tokens first, ``pad_id`` after ``lengths``), ``lengths`` [B], ``scores`` [B]
    (length-normalised sums of log-probabilities).
    """

    tokens: Tensor
    lengths: Tensor
    scores: Tensor


def ngram_forbid_mask(generated: Tensor, n: int, vocab_size: int, ignore_ids: Sequence[int] = ()) -> Tensor:
    """Tokens that would repeat an n-gram of each row (s2s-ft ``get_dup_ngram_candidates``), vectorised.

    Args:
        generated: Generated tokens so far [R, g].
        n: N-gram size (>= 2).
        vocab_size: V.
        ignore_ids: An n-gram whose first n-1 tokens (the row's tail) or completing token is one of these is
            never forbidden.

    Returns:
        Bool [R, V], True for forbidden next tokens.
    """
    R, g = generated.shape
    forbid = torch.zeros(R, vocab_size + 1, dtype=torch.bool, device=generated.device)
    if n < 2 or g < n:  # s2s-ft starts blocking once a hypothesis holds n tokens
        return forbid[:, :vocab_size]
    windows = generated.unfold(1, n, 1)  # [R, g - n + 1, n]
    tail = generated[:, g - n + 1:]  # [R, n - 1]
    match = (windows[..., :-1] == tail[:, None]).all(-1)  # [R, W]
    completion = windows[..., -1]
    if len(ignore_ids):
        ignore = torch.as_tensor(list(ignore_ids), device=generated.device)
        match &= ~torch.isin(completion, ignore) & ~torch.isin(tail, ignore).any(-1, keepdim=True)
    forbid.scatter_(1, torch.where(match, completion, vocab_size), True)
    return forbid[:, :vocab_size]


def _log_probs(logits: Tensor, tokens: Tensor, num_initial: int, cfg: SearchConfig) -> Tensor:
    """Log-softmax of the step's logits with the n-gram and min-length rules applied (in s2s-ft's order)."""
    logp = F.log_softmax(logits.float(), dim=-1)  # [R, V]
    generated = tokens[:, num_initial:]
    if cfg.no_repeat_ngram_size:
        forbid = ngram_forbid_mask(generated, cfg.no_repeat_ngram_size, logp.shape[-1], cfg.ngram_ignore_ids)
        logp = logp + forbid.to(logp.dtype) * FORBID
    if generated.shape[1] + 1 <= cfg.min_len:
        logp[:, cfg.eos_id] = FORBID
    return logp


def _check(tokens: Tensor, cfg: SearchConfig) -> None:
    if tokens.dim() != 2 or tokens.shape[1] >= cfg.max_len:
        raise ValueError(f'initial tokens must be [B, t] with t < max_len={cfg.max_len}, got {tuple(tokens.shape)}')


@torch.no_grad()
def beam_search(decoder: IncrementalDecoder, tokens: Tensor, cfg: SearchConfig) -> Generated:
    """Beam search from initial tokens (BEiT-3: ``[<s>]``; s2s-ft: none, shape [B, 0]), by ``cfg.strategy``.

    Args:
        decoder: The incremental decoder, holding B rows (one per sample) before the first step.
        tokens: Initial target tokens [B, t0], t0 < ``max_len``.
        cfg: Options.

    Returns:
        The best finished hypothesis of each sample.
    """
    if cfg.strategy == 'slots':
        from .slot_search import slot_beam_search
        return slot_beam_search(decoder, tokens, cfg)
    _check(tokens, cfg)
    B, t0 = tokens.shape
    K, device = cfg.num_beams, tokens.device
    logits = decoder.step(tokens)  # [B, V]: the prefix is encoded once per sample, not per beam
    expand = torch.arange(B, device=device).repeat_interleave(K)
    decoder.reorder(expand)
    tokens, logits = tokens[expand], logits[expand]
    beam_scores = torch.zeros(B, K, device=device)
    beam_scores[:, 1:] = -1e9  # the K beams are copies: the first step continues beam 0 only
    best = torch.full((B, cfg.max_len), cfg.pad_id, dtype=torch.long, device=device)
    best_len = torch.zeros(B, dtype=torch.long, device=device)
    best_score = torch.full((B, ), float('-inf'), device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    rows0 = (torch.arange(B, device=device) * K)[:, None]
    for length in range(t0 + 1, cfg.max_len + 1):  # length of a hypothesis ending at this step
        logp = _log_probs(logits, tokens, t0, cfg)
        V = logp.shape[-1]
        scores, index = (logp + beam_scores.view(-1, 1)).view(B, K * V).topk(min(2 * K, K * V), dim=1)
        beam, word = index // V, index % V  # [B, 2K]
        # BeamHypotheses.is_done: no open beam can beat the kept hypothesis any more
        done |= (best_len > 0) & (best_score >= cfg.normalise(scores[:, 0], cfg.max_len))
        last = length == cfg.max_len
        finish = torch.ones_like(word, dtype=torch.bool) if last else word == cfg.eos_id
        is_open = ~finish
        open_before = is_open.long().cumsum(1) - is_open.long()
        considered = finish & (open_before < K) & ~done[:, None]
        norm = torch.where(considered, cfg.normalise(scores, length), float('-inf'))
        cand_score, cand = norm.max(dim=1)  # first of equals, as BeamHypotheses keeps the earlier one
        better = considered.any(1) & ((best_len == 0) | (cand_score > best_score))
        if bool(better.any()):
            b = better.nonzero().squeeze(1)
            src = rows0[b, 0] + beam[b, cand[b]]
            end = word[b, cand[b]]
            if last and cfg.final_token == 'eos':
                end = torch.full_like(end, cfg.eos_id)
            best[b, :length] = torch.cat([tokens[src], end[:, None]], dim=1)
            best_len[b], best_score[b] = length, cand_score[b]
        if last:
            break
        keep = is_open & (is_open.long().cumsum(1) <= K)  # the first K open candidates refill the beams
        order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :K]  # [B, K]
        rows = (rows0 + beam.gather(1, order)).view(-1)
        beam_scores = scores.gather(1, order)
        decoder.reorder(rows)
        tokens = torch.cat([tokens[rows], word.gather(1, order).view(-1, 1)], dim=1)
        if bool(done.all()):
            break
        logits = decoder.step(tokens)
    return Generated(best[:, :int(best_len.max())], best_len, best_score)


@torch.no_grad()
def greedy_search(decoder: IncrementalDecoder, tokens: Tensor, cfg: SearchConfig) -> Generated:
    """Greedy decoding: the most likely token each step, until EOS or ``max_len`` (``num_beams`` is ignored).

    Args:
        decoder: The incremental decoder, one row per sample.
        tokens: Initial target tokens [B, t0], t0 < ``max_len``.
        cfg: Options (length penalty only normalises the returned scores).

    Returns:
        Each sample's sequence, EOS included (or cut at ``max_len``, see ``final_token``).
    """
    _check(tokens, cfg)
    B, t0 = tokens.shape
    lengths = torch.full((B, ), cfg.max_len, dtype=torch.long, device=tokens.device)
    total = torch.zeros(B, device=tokens.device)
    finished = torch.zeros(B, dtype=torch.bool, device=tokens.device)
    for length in range(t0 + 1, cfg.max_len + 1):
        logp = _log_probs(decoder.step(tokens), tokens, t0, cfg)
        score, word = logp.max(dim=-1)
        if length == cfg.max_len and cfg.final_token == 'eos':
            word = torch.full_like(word, cfg.eos_id)
        total = torch.where(finished, total, total + score)
        ends = ~finished & (word == cfg.eos_id)
        lengths = torch.where(ends, length, lengths)
        word = torch.where(finished, cfg.pad_id, word)
        finished |= ends
        tokens = torch.cat([tokens, word[:, None]], dim=1)
        if bool(finished.all()):
            break
    return Generated(tokens[:, :int(lengths.max())], lengths, cfg.normalise(total, lengths.float()))
