"""Per-layer key / value cache of a bidirectional encoder used as a generator (s2s-ft, BEiT-3 captioning).

A decoding step feeds only the new tokens; each attention layer concatenates their keys / values after the
cached ones (:meth:`LayerKV.update`, called by ``MultiwayAttention`` when given ``kv_cache``), so queries of the
new tokens attend over the whole prefix without recomputing it. Keys / values are kept as the projections give
them, [B, T, C] (heads not split), which is what ``beitmm.models.layers.multiway.attend`` takes.
"""
from typing import List, Optional, Tuple

import torch
from torch import Tensor


class LayerKV:
    """Keys and values of one attention layer: [B, T, C] each, or nothing yet."""

    def __init__(self) -> None:
        self.key: Optional[Tensor] = None
        self.value: Optional[Tensor] = None

    def update(self, key: Tensor, value: Tensor) -> Tuple[Tensor, Tensor]:
        """Append the keys / values of new tokens and return those of every token.

        Args:
            key: Keys of the new tokens [B, N, C].
            value: Values of the new tokens [B, N, C].

        Returns:
            Keys and values [B, T + N, C] (cached tokens first).
        """
        if self.key is not None:
            if self.key.shape[0] != key.shape[0]:
                raise ValueError(f'kv cache holds {self.key.shape[0]} rows but the step has {key.shape[0]}: '
                                 'reorder the cache (beam expansion) before the step')
            key, value = torch.cat([self.key, key], dim=1), torch.cat([self.value, value], dim=1)
        self.key, self.value = key, value
        return key, value


class KVCache:
    """One :class:`LayerKV` per layer, with the batch reordering and truncation beam search needs.

    Args:
        num_layers: Attention layers of the model.
    """

    def __init__(self, num_layers: int) -> None:
        self.layers: List[LayerKV] = [LayerKV() for _ in range(num_layers)]
        # position ids [B, T] of the cached tokens, kept by models whose attention bias depends on relative positions
        # (VLMo's text branch); reordered and truncated with the keys
        self.positions: Optional[Tensor] = None

    def __getitem__(self, index: int) -> LayerKV:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def length(self) -> int:
        """Tokens cached (0 when empty)."""
        key = self.layers[0].key if self.layers else None
        return 0 if key is None else key.shape[1]

    @property
    def rows(self) -> int:
        """Batch rows cached (0 when empty)."""
        key = self.layers[0].key if self.layers else None
        return 0 if key is None else key.shape[0]

    def reorder(self, index: Tensor) -> None:
        """Select batch rows (beam expansion and beam reordering): row i becomes old row ``index[i]``.

        Args:
            index: LongTensor [R'] of old row indices (repeats allowed).
        """
        for layer in self.layers:
            if layer.key is not None:
                idx = index.to(layer.key.device)
                layer.key, layer.value = layer.key.index_select(0, idx), layer.value.index_select(0, idx)
        if self.positions is not None:
            self.positions = self.positions.index_select(0, index.to(self.positions.device))

    def drop_last(self, num: int = 1) -> None:
        """Forget the last ``num`` tokens (BEiT-3 / s2s-ft: the [MASK] of the step, recomputed as the real token).

        Args:
            num: Tokens to drop from the end.
        """
        if num > self.length:
            raise ValueError(f'cannot drop {num} tokens from a cache of {self.length}')
        for layer in self.layers:
            if layer.key is not None and num:
                layer.key, layer.value = layer.key[:, :-num], layer.value[:, :-num]
        if self.positions is not None and num:
            self.positions = self.positions[:, :-num]
