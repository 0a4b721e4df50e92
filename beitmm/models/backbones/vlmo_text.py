"""VLMo's text branch with explicit positions and a key / value cache (s2s-ft fine-tuning and decoding).

VLMo adds no absolute text position: positions enter only through the merged relative position table (text rows:
the 1-d distance key - query, and three rows for the cls token at position 0; VLMo ``vlmo_module.py``
``build_relative_position_embed``). s2s-ft needs
positions that are not ``0..N-1`` (target tokens continue after the real source length, pseudo tokens repeat
their target's), and a decoding step whose queries are the new tokens and whose keys are every cached token too,
so the text bias is built here from query and key position ids.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from beitmm.checkpoint.vlmo_convert import CROSS_ROWS

from ..layers.transformer import rel_pos_table_len


class VLMoTextDecodingMixin:
    """``forward_text`` of ``beitmm.VLMo``: text only, explicit positions, optional ``KVCache``."""

    def text_bias(self, query_pos: Tensor, key_pos: Tensor) -> Sequence[Tensor]:
        """Per-layer text biases [B, heads, Nq, Nk] of queries / keys at position ids [B, Nq] / [B, Nk].

        The same rows as ``text_relative_position_index`` for positions ``0..L-1``: ``first + rel - 2 + (k - q)``,
        and the cls rows for position 0 (query cls, key cls, both).
        """
        rel = self.rel_pos_text_len
        if int(key_pos.max()) >= rel or int(query_pos.min()) < 0:
            raise ValueError(f'text positions must be in [0, rel_pos_text_len={rel}), got up to {int(key_pos.max())}:'
                             ' build VLMo with a larger rel_pos_text_len (its table rows) or shorten the texts')
        first = rel_pos_table_len(self.grid) + CROSS_ROWS
        last = first + 2 * rel
        qc, kc = (query_pos == 0)[:, :, None], (key_pos == 0)[:, None, :]
        index = first + rel - 2 + (key_pos[:, None, :] - query_pos[:, :, None])  # [B, Nq, Nk]
        index = torch.where(qc, last - 3, index)
        index = torch.where(kc, last - 2, index)
        index = torch.where(qc & kc, last - 1, index)
        bias = F.embedding(index, self.relative_position_bias_table)  # [B, Nq, Nk, heads * depth]
        return bias.permute(0, 3, 1, 2).chunk(self.num_layers, dim=1)

    def forward_text(self, text: Tensor, positions: Optional[Tensor] = None, attn_mask: Optional[Tensor] = None,
                     kv_cache=None) -> Tuple[Tensor]:
        """Encode texts [B, N] at position ids ``positions`` ([B, N] / [N]; default 0..N-1) against the cache.

        Args:
            text: Token ids of the new tokens.
            positions: Their position ids (0 is the [CLS] position of VLMo's table).
            attn_mask: Bool [B|1, 1, N, T + N] (True = may attend), the cached keys first.
            kv_cache: ``beitmm.models.generation.KVCache`` (its ``positions`` hold the cached tokens' ids), or None.

        Returns:
            ``(hidden,)``: final-norm states [B, N, C].
        """
        B, N = text.shape
        q_pos = torch.arange(N, device=text.device) if positions is None else positions.to(text.device)
        q_pos = q_pos.expand(B, N) if q_pos.dim() == 1 else q_pos
        if q_pos.shape != (B, N):
            raise ValueError(f'text positions must be [{N}] or [{B}, {N}], got {tuple(positions.shape)}')
        k_pos = q_pos
        if kv_cache is not None:
            if kv_cache.positions is not None:
                k_pos = torch.cat([kv_cache.positions, q_pos], dim=1)
            kv_cache.positions = k_pos
        x = self.embed_text(text)  # [B, N, C]
        biases = self.text_bias(q_pos, k_pos)
        spans = (('text', N), )
        for i, block in enumerate(self.transformer.blocks):
            x = block(x, spans, attn_mask, biases[i], None if kv_cache is None else kv_cache[i])
        return (self.transformer.norm(x), )
