"""BEiT-3 presets, constants, the text embedding (a mixin of ``beitmm.BEiT3``) and parameter counts."""
import logging
import math
from typing import Dict, Optional, Tuple, Union

import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

ARCH_ZOO = {
    # tiny is beitmm's (no official tiny BEiT-3): ViT-Ti widths, for tests and demos
    'tiny': dict(embed_dims=192, num_layers=12, num_heads=3, feedforward_channels=768),
    'base': dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072),
    'large': dict(embed_dims=1024, num_layers=24, num_heads=16, feedforward_channels=4096),
    # the paper's giant: patch 14, shared attention with V / L experts and a VL expert in the top 3 layers, 1.85B
    # (1.95B with MLM and MIM heads: the paper's "1.9B"); never released. layout='released' gives timm's
    # beit3_giant_patch14_* widths in the released layout (2.11B with both experts).
    'giant': dict(embed_dims=1408, num_layers=40, num_heads=16, feedforward_channels=6144, patch_size=14,
                  layout='paper'),
}
LAYOUTS = ('released', 'paper')
OUT_TYPES = ('raw', 'cls_token', 'featmap', 'avg_featmap')
POS_OFFSET = 2  # fairseq: positions start at 2 (torchscale PositionalEmbedding)
VISION, LANGUAGE = 'A', 'B'  # torchscale's expert names


def resolve_arch(arch: Union[str, dict]) -> dict:
    """A BEiT3 arch preset name or dict -> a dict with the widths (``embed_dims``, ``num_layers``, ...)."""
    if isinstance(arch, str):
        if arch not in ARCH_ZOO:
            raise ValueError(f'unknown BEiT3 arch {arch!r}; choose one of {sorted(ARCH_ZOO)} or pass a dict')
        return dict(ARCH_ZOO[arch])
    missing = {'embed_dims', 'num_layers', 'num_heads', 'feedforward_channels'} - set(arch)
    if missing:
        raise ValueError(f'BEiT3 arch dict lacks {sorted(missing)}')
    return dict(arch)


class BEiT3TextMixin:
    """Text embedding with fairseq positions and the text-length check of ``beitmm.BEiT3``."""

    def embed_text(self, text: Tensor, positions: Optional[Tensor] = None) -> Tensor:
        """Token embeddings plus positions (table rows 2, 3, ...: fairseq), [B, L, C].

        Args:
            text: Token ids [B, L].
            positions: Text token indices [L] or [B, L] (0 = first token, table row 2) for incremental decoding;
                default ``0..L-1``.
        """
        if 'language' not in self.modalities:
            raise ValueError('this BEiT3 was built without the language branch (modalities=("vision",))')
        if text.numel() and (int(text.min()) < 0 or int(text.max()) >= self.vocab_size):
            bad = text[(text < 0) | (text >= self.vocab_size)].unique().tolist()[:5]
            raise ValueError(f'token ids {bad} are outside the text embedding of {self.vocab_size} rows: use the '
                             'tokenizer the model was trained with, or build it with a larger vocab_size')
        table = self.encoder.embed_positions.B.weight
        if positions is None:
            pos = table[POS_OFFSET:POS_OFFSET + text.shape[1]][None]
        else:
            if positions.shape[-1] != text.shape[1] or int(positions.min()) < 0 or \
                    int(positions.max()) + POS_OFFSET >= table.shape[0]:
                raise ValueError(f'text positions {positions.tolist()} must be {text.shape[1]} indices in '
                                 f'[0, {table.shape[0] - POS_OFFSET}) (the text position table)')
            pos = table[positions + POS_OFFSET]
            pos = pos[None] if pos.dim() == 2 else pos
        return self.text_embed(text) + pos.to(self.text_embed.weight.dtype)

    def _fit_text(self, text: Tensor, padding: Optional[Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
        limit = self.encoder.embed_positions.B.num_embeddings - POS_OFFSET
        if text.shape[1] == 0:
            raise ValueError('empty text (0 tokens): tokenize with the special tokens, e.g. [<s>, </s>]')
        if text.shape[1] <= limit:
            return text, padding
        if self.text_overflow == 'error':
            raise ValueError(f'texts of {text.shape[1]} tokens exceed the {limit} text positions; truncate them in '
                             "the pipeline or build the model with text_overflow='truncate'")
        self._truncated += text.shape[0]
        print_log(f'BEiT3: {text.shape[0]} text(s) of {text.shape[1]} tokens truncated to the {limit} text '
                  f'positions ({self._truncated} so far)', logger='current', level=logging.WARNING)
        return text[:, :limit], None if padding is None else padding[:, :limit]


def count_parameters(module: nn.Module) -> int:
    """Number of parameter elements (works on the meta device)."""
    return sum(math.prod(p.shape) for p in module.parameters())


def expert_parameters(model: nn.Module) -> Dict[str, int]:
    """Parameter elements of the vision (A) and language (B) experts of a released-layout BEiT3, positions included."""
    counts = {VISION: 0, LANGUAGE: 0}
    for name, p in model.named_parameters():
        for expert in counts:
            if f'.{expert}.' in name or name == f'encoder.embed_positions.{expert}.weight':
                counts[expert] += math.prod(p.shape)
    return counts
