"""s2s-ft's beam search (``s2s_ft/modeling_decoding.py`` ``BertForSeq2SeqDecoder.beam_search``, lines 1235-1500).

The scoring (log-softmax, n-gram ban, ``min_len``) is :func:`~.beam_search._log_probs`, shared with the
``BeamHypotheses`` search; what differs is the selection:

- K slots per sample. The first step takes the top K tokens of the one prefix row; each later step takes the top
  K tokens of every slot, adds the slot's score (and -10000 when the slot's last token is EOS), and keeps the top
  K of those K x K. A finished hypothesis so keeps competing for a slot, with its continuations at -10000.
- No early stop inside a sample: the search runs until every sample has a frame whose K tokens are all EOS (or
  ``max_len``); frames after a sample's first all-EOS frame are ignored.
- The answer is chosen at the end among every EOS entry of every frame up to that frame and every entry of
  that frame, by ``score / ((5 + n) / 6) ** alpha`` with n the generated tokens (EOS included; a causal start
  token not counted, as ``--pos_shift``); the first best in (frame, slot) order wins.
"""
import torch
from torch import Tensor

from .beam_search import FORBID, Generated, IncrementalDecoder, SearchConfig, _check, _log_probs


def _penalty(cfg: SearchConfig, generated: Tensor) -> Tensor:
    """s2s-ft's divisor ``((5 + n) / 6) ** alpha`` (1 at alpha 0), float64 as its Python floats."""
    if not cfg.length_penalty:
        return torch.ones_like(generated, dtype=torch.float64)
    base = (5 + generated.double()) / 6 if cfg.penalty == 'gnmt' else generated.double()
    return base**cfg.length_penalty


@torch.no_grad()
def slot_beam_search(decoder: IncrementalDecoder, tokens: Tensor, cfg: SearchConfig) -> Generated:
    """s2s-ft's beam search (module docstring) from initial tokens [B, t0] (s2s-ft: none; causal: [SEP]).

    Args:
        decoder: The incremental decoder, holding B rows (one per sample) before the first step.
        tokens: Initial target tokens [B, t0], t0 < ``max_len``.
        cfg: Options (``num_beams`` K <= vocabulary size).

    Returns:
        Each sample's chosen sequence (initial tokens first, ``pad_id`` after ``lengths``) and its normalised score.
    """
    _check(tokens, cfg)
    B, t0 = tokens.shape
    K, device = cfg.num_beams, tokens.device
    logp = _log_probs(decoder.step(tokens), tokens, t0, cfg)  # [B, V]
    scores, ids = logp.topk(K, dim=-1)  # [B, K]: the first frame continues the one prefix row
    ptrs = torch.zeros_like(ids)
    expand = torch.arange(B, device=device).repeat_interleave(K)
    decoder.reorder(expand)
    tokens = torch.cat([tokens[expand], ids.view(-1, 1)], dim=1)  # [B * K, t0 + 1]
    frames = [(scores, ids, ptrs)]
    all_eos = (ids == cfg.eos_id).all(1)  # [B] a sample whose frame is all EOS is settled
    rows0 = (torch.arange(B, device=device) * K)[:, None]
    while tokens.shape[1] < cfg.max_len and not bool(all_eos.all()):
        logp = _log_probs(decoder.step(tokens), tokens, t0, cfg)  # [B * K, V]
        kk_scores, kk_ids = logp.topk(K, dim=-1)  # [B * K, K] the best K tokens of each slot
        last_eos = (ids == cfg.eos_id).to(kk_scores.dtype).view(-1, 1)
        kk_scores = kk_scores + last_eos * FORBID + scores.view(-1, 1)
        scores, pick = kk_scores.view(B, K * K).topk(K, dim=1)  # [B, K]
        ptrs = torch.div(pick, K, rounding_mode='floor')
        ids = kk_ids.view(B, K * K).gather(1, pick)
        rows = (rows0 + ptrs).view(-1)
        decoder.reorder(rows)
        tokens = torch.cat([tokens[rows], ids.view(-1, 1)], dim=1)
        frames.append((scores, ids, ptrs))
        all_eos |= (ids == cfg.eos_id).all(1)
    return _select(frames, tokens[::K, :t0], cfg)


def _select(frames, initial: Tensor, cfg: SearchConfig) -> Generated:
    """The final choice of s2s-ft (``modeling_decoding.py:1470-1490``) and the back-tracking of its tokens."""
    scores, ids, ptrs = (torch.stack(x) for x in zip(*frames, strict=True))  # [F, B, K] each
    n_frames, B, K = ids.shape
    fid = torch.arange(n_frames, device=ids.device)[:, None, None]  # [F, 1, 1]
    is_eos = ids == cfg.eos_id
    all_eos = is_eos.all(2)  # [F, B]
    last = torch.where(all_eos.any(0), all_eos.long().argmax(0), n_frames - 1)  # [B] first all-EOS frame, else the last
    candidate = (is_eos | (fid == last[None, :, None])) & (fid <= last[None, :, None])
    norm = scores.double() / _penalty(cfg, fid + 1)
    norm = torch.where(candidate, norm, float('-inf')).permute(1, 0, 2).reshape(B, n_frames * K)  # (frame, slot) order
    best, flat = norm.max(dim=1)  # first of equals, as s2s-ft's strict ``s > max_score``
    best_fid, pos = flat // K, flat % K
    out = torch.full((B, n_frames), cfg.pad_id, dtype=ids.dtype, device=ids.device)
    for f in range(n_frames - 1, -1, -1):  # back-track through the slot pointers
        active = f <= best_fid
        out[:, f] = torch.where(active, ids[f].gather(1, pos[:, None]).squeeze(1), cfg.pad_id)
        pos = torch.where(active, ptrs[f].gather(1, pos[:, None]).squeeze(1), pos)
    lengths = initial.shape[1] + best_fid + 1
    tokens = torch.cat([initial, out], dim=1)[:, :int(lengths.max())]
    return Generated(tokens, lengths, best.to(scores.dtype))
