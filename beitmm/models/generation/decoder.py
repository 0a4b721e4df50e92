"""The bidirectional encoder as a generator: one incremental decoder for BEiT-3 captioning and s2s-ft.

The first step encodes ``[prefix; target tokens so far; MASK]`` under :func:`~.masks.seq2seq_mask` and reads the
next token at the MASK. Each later step feeds only ``[previous token, MASK]`` at target positions
``[t - 1, t]`` against the per-layer key / value cache (:func:`~.masks.decode_step_mask`); the MASK's keys /
values are then dropped, since next step recomputes that position as the real token (unilm
``CaptioningHandler``, s2s-ft ``BertForSeq2SeqDecoder``). ``use_cache=False`` recomputes the whole sequence every
step instead, with the same masks: the reference the cache is checked and timed against. Without a ``mask_id``
the decoder is causal (s2s-ft causal fine-tuning, ``--pos_shift``): a step feeds the previous token alone, its
output predicts the next token and its keys / values stay cached (the first target token, e.g. [SEP] as SOS, is
an initial token).

The model is reached through one callable, so the same decoder serves an image prefix (BEiT-3) and a source-text
prefix (s2s-ft, whose target positions are offset by each sample's source length)::

    run(rows, with_prefix, ids, positions, attn_mask, kv_cache) -> hidden [R, n, C] of the n target tokens ``ids``

``rows`` [R] maps each decoding row (beam) to its sample; ``with_prefix`` says whether the prefix of those
samples is part of this forward (first step, or every step without the cache); ``positions`` [n] are target
indices (0 = first target token); ``attn_mask`` is bool [R or 1, 1, n (+ P), keys]; ``kv_cache`` is the
:class:`~.cache.KVCache` to read and extend, or None.
"""
from typing import Callable, Optional

import torch
from torch import Tensor

from .cache import KVCache
from .masks import decode_step_mask, seq2seq_mask

RunFn = Callable[[Tensor, bool, Tensor, Tensor, Tensor, Optional[KVCache]], Tensor]


class MaskPredictDecoder:
    """Incremental decoder of a bidirectional encoder (see the module docstring); drives the searches.

    Args:
        run: The model call (module docstring).
        head: Hidden [R, C] -> logits [R, V] (BEiT-3: ``mlm_head``).
        mask_id: Id of the MASK fed at the predicted position; None: causal decoding (module docstring).
        prefix_len: Prefix tokens P (image tokens; padded source length).
        batch_size: Samples B (rows before beam expansion).
        num_layers: Attention layers (cache size).
        prefix_padding: Bool [B, P], True at padded prefix tokens, or None.
        use_cache: Keep a per-layer key / value cache (False: recompute everything each step).
        device: Device of the rows.
    """

    def __init__(self, run: RunFn, head: Callable[[Tensor], Tensor], mask_id: Optional[int], prefix_len: int,
                 batch_size: int,
                 num_layers: int, prefix_padding: Optional[Tensor] = None, use_cache: bool = True,
                 device: Optional[torch.device] = None) -> None:
        self.run, self.head, self.mask_id, self.prefix_len = run, head, mask_id, prefix_len
        self.prefix_padding = prefix_padding
        self.cache = KVCache(num_layers) if use_cache else None
        self.rows = torch.arange(batch_size, device=device)

    def _padding(self) -> Optional[Tensor]:
        return None if self.prefix_padding is None else self.prefix_padding[self.rows]

    def step(self, tokens: Tensor) -> Tensor:
        """Logits [R, V] of target token t given ``tokens`` [R, t] (the targets 0..t-1).

        Args:
            tokens: Every target token so far, one row per decoding row.

        Returns:
            The logits at the MASK (causal: at the last token).
        """
        R, t = tokens.shape
        if R != self.rows.numel():
            raise ValueError(f'the decoder holds {self.rows.numel()} rows, the step got {R}: reorder first')
        if self.mask_id is None:
            return self._causal_step(tokens)
        mask = torch.full((R, 1), self.mask_id, dtype=tokens.dtype, device=tokens.device)
        if self.cache is None or self.cache.length == 0:  # the first step, or recompute: the whole sequence
            ids = torch.cat([tokens, mask], dim=1)  # [R, t + 1]
            positions = torch.arange(t + 1, device=tokens.device)
            attn = seq2seq_mask(self.prefix_len, t + 1, self._padding(), device=tokens.device)
            hidden = self.run(self.rows, True, ids, positions, attn, self.cache)
        else:
            self._check_cache(t)
            ids = torch.cat([tokens[:, -1:], mask], dim=1)  # [R, 2]: the previous token and the MASK
            positions = torch.arange(t - 1, t + 1, device=tokens.device)
            attn = decode_step_mask(self.prefix_len, t - 1, 2, self._padding(), device=tokens.device)
            hidden = self.run(self.rows, False, ids, positions, attn, self.cache)
        if self.cache is not None:
            self.cache.drop_last(1)  # the MASK's keys / values: next step recomputes the position as the token
        return self.head(hidden[:, -1])

    def _causal_step(self, tokens: Tensor) -> Tensor:
        t = tokens.shape[1]
        if t == 0:
            raise ValueError('causal decoding reads the prediction at the last token: give an initial token')
        if self.cache is None or self.cache.length == 0:
            attn = seq2seq_mask(self.prefix_len, t, self._padding(), device=tokens.device)
            hidden = self.run(self.rows, True, tokens, torch.arange(t, device=tokens.device), attn, self.cache)
        else:
            self._check_cache(t)
            attn = decode_step_mask(self.prefix_len, t - 1, 1, self._padding(), device=tokens.device)
            hidden = self.run(self.rows, False, tokens[:, -1:], torch.arange(t - 1, t, device=tokens.device), attn,
                              self.cache)
        return self.head(hidden[:, -1])

    def _check_cache(self, t: int) -> None:
        expected = self.prefix_len + t - 1
        if self.cache.length != expected:
            raise ValueError(f'the cache holds {self.cache.length} tokens, expected {expected} (prefix '
                             f'{self.prefix_len} + {t - 1} targets): feed every target token each step')

    def reorder(self, index: Tensor) -> None:
        """Row i continues old row ``index[i]`` (the cache and the row -> sample map follow)."""
        self.rows = self.rows[index]
        if self.cache is not None:
            self.cache.reorder(index)

