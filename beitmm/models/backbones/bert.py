"""A post-LN BERT encoder under HF BERT's module names: the bidirectional text encoder s2s-ft fine-tunes.

One class covers BERT, RoBERTa / XLM-R (``type_vocab_size=0``, ``position_offset=2``), ELECTRA (``embedding_size``
other than the width adds ``embeddings_project``), UniLM and MiniLM. Checkpoints of all of them load through the
``'bert'`` converter (:mod:`beitmm.checkpoint.families.bert`). Positions can be given explicitly, because s2s-ft's
target positions continue after the real source length and its pseudo tokens repeat their target's position. A
key / value cache (:class:`beitmm.models.generation.KVCache`) serves the incremental decoder.
"""
from typing import Dict, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from beitmm.checkpoint import ConversionTarget, init_from_pretrained_cfg, module_state_shapes
from beitmm.registry import MODELS

from ..layers import combine_masks, hooked_softmax_attend, padding_to_attn_mask
from .bert_layer_depth import BertLayerDepth
from .bert_rel_pos import check_rel_pos, rel_pos_bias
from .text_interface import TextBackbone

ARCHS: Dict[str, Dict[str, int]] = {
    'tiny': dict(hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64),
    'base': dict(hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072),
    'large': dict(hidden_size=1024, num_layers=24, num_heads=16, intermediate_size=4096),
    'minilm-l12-h384': dict(hidden_size=384, num_layers=12, num_heads=12, intermediate_size=1536),
}


class _SelfAttention(nn.Module):
    """``attention.self``: separate query / key / value projections (HF names)."""

    def __init__(self, dim: int, num_heads: int, attn_drop: float) -> None:
        super().__init__()
        self.num_heads, self.attn_drop = num_heads, attn_drop
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, x: Tensor, bias: Optional[Tensor], kv_cache=None) -> Tensor:
        """[B, L, C] -> [B, L, C]; ``bias`` additive [B|1, 1, L, T + L]; ``kv_cache`` a ``LayerKV`` or None."""
        B, L, C = x.shape
        q, k, v = self.query(x), self.key(x), self.value(x)  # [B, L, C]
        if kv_cache is not None:
            k, v = kv_cache.update(k, v)  # [B, T + L, C]
        d = C // self.num_heads
        q, k, v = (t.reshape(B, t.shape[1], self.num_heads, d).transpose(1, 2) for t in (q, k, v))  # [B, h, *, d]
        if 'softmax' in self._modules:  # softmax hook (THE-X's converter sets it): the shared explicit-scores path
            keep = None if bias is None else bias > -1e3  # masked keys carry the dtype's minimum (choice: -1e3)
            add = None if bias is None else bias.masked_fill(~keep, 0.)  # a relative position bias, if any
            out = hooked_softmax_attend(self.softmax, q, k, v, add, keep, self.attn_drop, self.training)
            return out.transpose(1, 2).reshape(B, L, C)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias,
                                             dropout_p=self.attn_drop if self.training else 0.)
        return out.transpose(1, 2).reshape(B, L, C)


class _DenseNorm(nn.Module):
    """``attention.output`` / ``output``: dense, dropout, residual, post-LayerNorm."""

    def __init__(self, in_dim: int, dim: int, eps: float, drop: float) -> None:
        super().__init__()
        self.dense, self.LayerNorm, self.dropout = nn.Linear(in_dim, dim), nn.LayerNorm(dim, eps=eps), nn.Dropout(drop)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        """LN(residual + dropout(dense(x)))."""
        return self.LayerNorm(residual + self.dropout(self.dense(x)))


class BertLayer(nn.Module):
    """One post-LN BERT layer: ``attention.{self,output}``, ``intermediate.dense``, ``output``.

    Args:
        dim: Width C.
        num_heads: Attention heads.
        ffn_dim: Intermediate width.
        eps: LayerNorm epsilon.
        drop: Hidden dropout.
        attn_drop: Attention-probability dropout.
    """

    def __init__(self, dim: int, num_heads: int, ffn_dim: int, eps: float, drop: float, attn_drop: float) -> None:
        super().__init__()
        self.attention = nn.Module()
        self.attention.self = _SelfAttention(dim, num_heads, attn_drop)
        self.attention.output = _DenseNorm(dim, dim, eps, drop)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(dim, ffn_dim)
        self.intermediate.intermediate_act_fn = nn.GELU()  # HF's name; a module (no state) so THE-X can replace it
        self.output = _DenseNorm(ffn_dim, dim, eps, drop)

    def forward(self, x: Tensor, bias: Optional[Tensor], kv_cache=None) -> Tensor:
        """[B, L, C] -> [B, L, C]."""
        x = self.attention.output(self.attention.self(x, bias, kv_cache), x)
        return self.output(self.intermediate.intermediate_act_fn(self.intermediate.dense(x)), x)


@MODELS.register_module()
class BertEncoder(BertLayerDepth, TextBackbone, BaseModule):
    """Post-LN BERT encoder with HF BERT's key names (BERT, RoBERTa, XLM-R, ELECTRA, UniLM, MiniLM).

    ``get_layer_depth`` (layer-wise lr decay) follows ELECTRA's fine-tuning depths (:mod:`.bert_layer_depth`).

    Args:
        arch: A preset of :data:`ARCHS` (``'tiny'``, ``'base'``, ``'large'``, ``'minilm-l12-h384'``) or a dict
            with ``hidden_size``, ``num_layers``, ``num_heads``, ``intermediate_size``.
        vocab_size: Word-piece vocabulary (BERT uncased 30522, RoBERTa 50265, XLM-R 250002).
        max_position_embeddings: Rows of the position table, offset rows included (RoBERTa 514). A checkpoint
            with fewer rows is extended on load (see ``reuse_position_embedding``), s2s-ft's source + target length.
        type_vocab_size: Segment types; 0: no token-type table (RoBERTa / XLM-R in s2s-ft).
        position_offset: Rows before position 0 (RoBERTa / XLM-R: padding_idx + 1 = 2; BERT 0).
        embedding_size: Width of the embeddings (ELECTRA-small's 128); other than the hidden width adds
            ``embeddings_project``. None: the hidden width.
        layer_norm_eps: LayerNorm epsilon (HF BERT 1e-12, RoBERTa 1e-5).
        hidden_dropout: Dropout of embeddings and sub-layer outputs.
        attn_dropout: Dropout of attention probabilities.
        reuse_position_embedding: On load into a longer table, tile the checkpoint's position rows (s2s-ft's
            ``reuse_position_embedding``); False: copy them once, the further rows N(0, 0.02).
        source_position_offset: Offset rows of checkpoints without a family prefix (HF bare-model files, where
            BERT and RoBERTa look alike); None: the model's own ``position_offset``.
        rel_pos_bins: Buckets of UniLM v2's relative position bias (``rel_pos_bias``, one table shared by every
            layer, :mod:`.bert_rel_pos`); 0: none (BERT, UniLM v1, RoBERTa).
        max_rel_pos: Distance its logarithmic buckets reach (s2s-ft ``max_rel_pos``).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` loads any layout of the 'bert' converter.
    """

    checkpoint_converter = 'bert'  # beitmm.checkpoint.families.bert
    family, token_order = 'bert', 'text_only'  # TextBackbone (text_interface.py)
    word_embeddings_path = 'embeddings.word_embeddings'

    def __init__(self, arch: Union[str, dict] = 'base', vocab_size: int = 30522, max_position_embeddings: int = 512,
                 type_vocab_size: int = 2, position_offset: int = 0, embedding_size: Optional[int] = None,
                 layer_norm_eps: float = 1e-12, hidden_dropout: float = 0.1, attn_dropout: float = 0.1,
                 reuse_position_embedding: bool = True, source_position_offset: Optional[int] = None,
                 rel_pos_bins: int = 0, max_rel_pos: int = 0,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in ARCHS:
                raise KeyError(f'unknown BertEncoder arch {arch!r}; presets: {sorted(ARCHS)}')
            arch = ARCHS[arch]
        missing = {'hidden_size', 'num_layers', 'num_heads', 'intermediate_size'} - set(arch)
        if missing:
            raise KeyError(f'BertEncoder arch dict lacks {sorted(missing)}')
        C, heads = arch['hidden_size'], arch['num_heads']
        if C % heads:
            raise ValueError(f'hidden_size {C} is not divisible by num_heads {heads}')
        if not 0 <= position_offset < max_position_embeddings:
            raise ValueError(f'position_offset {position_offset} outside the table of {max_position_embeddings}')
        E = embedding_size or C
        self.hidden_size, self.num_layers, self.num_heads = C, arch['num_layers'], heads
        self.embed_dims, self.vocab_size = C, vocab_size  # TextBackbone's names (embed_dims = hidden_size)
        self.max_position_embeddings, self.position_offset = max_position_embeddings, position_offset
        self.type_vocab_size, self.reuse_position_embedding = type_vocab_size, reuse_position_embedding
        self.source_position_offset = source_position_offset
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(vocab_size, E)
        self.embeddings.position_embeddings = nn.Embedding(max_position_embeddings, E)
        if type_vocab_size > 0:
            self.embeddings.token_type_embeddings = nn.Embedding(type_vocab_size, E)
        self.embeddings.LayerNorm = nn.LayerNorm(E, eps=layer_norm_eps)
        self.embeddings.dropout = nn.Dropout(hidden_dropout)
        self.embeddings_project = nn.Linear(E, C) if E != C else None
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(BertLayer(C, heads, arch['intermediate_size'], layer_norm_eps,
                                                     hidden_dropout, attn_dropout) for _ in range(self.num_layers))
        check_rel_pos(rel_pos_bins, max_rel_pos)
        self.rel_pos_bins, self.max_rel_pos = rel_pos_bins, max_rel_pos
        # UniLM v2: one Linear(bins, heads) over the one-hot bucket, shared by the layers (s2s-ft bert.rel_pos_bias)
        self.rel_pos_bias = nn.Linear(rel_pos_bins, heads, bias=False) if rel_pos_bins else None

    def init_weights(self) -> None:
        """BERT's init (N(0, 0.02) linears and embeddings, zero biases, unit LayerNorms), or the Pretrained file."""
        if init_from_pretrained_cfg(self):
            return
        super().init_weights()
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def checkpoint_target(self) -> ConversionTarget:
        """State shapes and the position / token-type facts the 'bert' converter needs."""
        return ConversionTarget(module_state_shapes(self), extra=dict(
            position_offset=self.position_offset, source_position_offset=self.source_position_offset,
            reuse_position_embedding=self.reuse_position_embedding, num_layers=self.num_layers,
            rel_pos_bins=self.rel_pos_bins))

    @property
    def uses_segments(self) -> bool:
        """A token-type table reads segment ids (BERT); RoBERTa / XLM-R (``type_vocab_size=0``) have none."""
        return self.type_vocab_size > 0

    @property
    def mlm_head_eps(self) -> float:
        """The encoder's LayerNorm eps (HF ``config.layer_norm_eps``: BERT 1e-12, RoBERTa 1e-5)."""
        return self.embeddings.LayerNorm.eps

    def encode_text(self, ids: Tensor, positions: Optional[Tensor] = None, segments: Optional[Tensor] = None,
                    attn_mask: Optional[Tensor] = None, padding: Optional[Tensor] = None, kv_cache=None) -> Tensor:
        """:meth:`forward` under TextBackbone's names; ``segments`` is ignored without a token-type table."""
        return self(ids, padding_mask=padding, attn_mask=attn_mask, positions=positions,
                    token_types=segments if self.uses_segments else None, kv_cache=kv_cache)

    def _embed(self, text: Tensor, positions: Optional[Tensor], token_types: Optional[Tensor]) -> Tensor:
        B, L = text.shape
        if positions is None:
            positions = torch.arange(L, device=text.device)
        if positions.shape not in ((L,), (B, L)):
            raise ValueError(f'positions must be [L] or [B, L] = [{L}] or [{B}, {L}], got {tuple(positions.shape)}')
        limit = self.max_position_embeddings - self.position_offset
        if positions.numel() and (int(positions.min()) < 0 or int(positions.max()) >= limit):
            raise ValueError(f'position ids must lie in [0, {limit}) (table of {self.max_position_embeddings} rows, '
                             f'offset {self.position_offset}), got up to {int(positions.max())}: the sequence is '
                             'longer than the position table; build the model with a larger max_position_embeddings')
        emb = self.embeddings
        x = emb.word_embeddings(text) + emb.position_embeddings(positions + self.position_offset)  # [B, L, E]
        if self.type_vocab_size > 0:
            types = torch.zeros_like(text) if token_types is None else token_types
            if types.shape != text.shape or int(types.max()) >= self.type_vocab_size or int(types.min()) < 0:
                raise ValueError(f'token_types must be [B, L] = {tuple(text.shape)} in [0, {self.type_vocab_size}), '
                                 f'got {tuple(types.shape)}')
            x = x + emb.token_type_embeddings(types)
        elif token_types is not None and bool(token_types.any()):
            raise ValueError('token_types given to a BertEncoder without a token-type table (type_vocab_size=0)')
        x = emb.dropout(emb.LayerNorm(x))
        return x if self.embeddings_project is None else self.embeddings_project(x)  # [B, L, C]

    def forward(self, text: Tensor, padding_mask: Optional[Tensor] = None, attn_mask: Optional[Tensor] = None,
                positions: Optional[Tensor] = None, token_types: Optional[Tensor] = None, kv_cache=None) -> Tensor:
        """Encode token ids.

        Args:
            text: Token ids [B, L].
            padding_mask: Bool [B, L], True at padding (never a visible key).
            attn_mask: Bool [B|1, 1, L, Lk] (True = may attend) or additive float; Lk = cached tokens + L.
            positions: Position ids [L] or [B, L] counted from 0 (``position_offset`` is added here); default
                ``arange(L)``.
            token_types: Segment ids [B, L]; default 0.
            kv_cache: ``beitmm.models.generation.KVCache`` with one entry per layer: each layer attends over its
                cached keys / values plus these tokens' and appends them. The padding of cached keys belongs in
                ``attn_mask``.

        Returns:
            Hidden states [B, L, C].
        """
        if text.dim() != 2 or text.dtype not in (torch.long, torch.int, torch.int16, torch.uint8):
            raise ValueError(f'text must be integer token ids [B, L], got {text.dtype} {tuple(text.shape)}')
        B, L = text.shape
        cached = 0
        if kv_cache is not None:
            if len(kv_cache) != self.num_layers:
                raise ValueError(f'kv_cache has {len(kv_cache)} entries, the encoder {self.num_layers} layers')
            cached = kv_cache.length
        if padding_mask is not None:
            if cached and bool(padding_mask.any()):
                raise ValueError('with a filled kv_cache the padding of every key goes into attn_mask, not '
                                 'padding_mask')
            if padding_mask.shape != text.shape:
                raise ValueError(f'padding_mask must be bool [B, L] = {tuple(text.shape)}, got '
                                 f'{tuple(padding_mask.shape)}')
            padding_mask = padding_to_attn_mask(padding_mask) if not cached else None  # [B, 1, 1, L]
        if attn_mask is not None and (attn_mask.dim() != 4 or tuple(attn_mask.shape[-2:]) != (L, cached + L)):
            raise ValueError(f'attn_mask must be [B|1, 1, {L}, {cached + L}] ({cached} cached keys), got '
                             f'{tuple(attn_mask.shape)}')
        x = self._embed(text, positions, token_types)
        bias = self._bias(combine_masks(attn_mask, padding_mask), x.dtype)
        if self.rel_pos_bias is not None:  # [B, heads, L, cached + L] added to the mask's bias (s2s-ft: both added)
            rel = self._relative_bias(positions, B, L, kv_cache, x.device).to(x.dtype)
            bias = rel if bias is None else bias + rel
        for i, layer in enumerate(self.encoder.layer):
            x = layer(x, bias, None if kv_cache is None else kv_cache[i])
        return x

    def _relative_bias(self, positions: Optional[Tensor], B: int, L: int, kv_cache, device) -> Tensor:
        """UniLM v2's bias of these queries over the cached and new keys; the cache keeps the keys' positions."""
        q_pos = torch.arange(L, device=device) if positions is None else positions.to(device)
        q_pos = q_pos.expand(B, L)  # [B, L]
        k_pos = q_pos
        if kv_cache is not None:
            if kv_cache.length and (kv_cache.positions is None or kv_cache.positions.shape[1] != kv_cache.length):
                raise ValueError('kv_cache holds keys without their positions: a BertEncoder with rel_pos_bins '
                                 'needs every cached token to pass through it')
            if kv_cache.length:
                k_pos = torch.cat([kv_cache.positions, q_pos], dim=1)  # [B, cached + L]
            kv_cache.positions = k_pos
        return rel_pos_bias(self.rel_pos_bias.weight, q_pos, k_pos, self.max_rel_pos)

    @staticmethod
    def _bias(mask: Optional[Tensor], dtype: torch.dtype) -> Optional[Tensor]:
        """Bool mask -> additive with the dtype's minimum (HF's choice: a fully masked row stays finite)."""
        if mask is None or mask.dtype != torch.bool:
            return None if mask is None else mask.to(dtype)
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill_(~mask, torch.finfo(dtype).min)


__all__ = ['ARCHS', 'BertEncoder', 'BertLayer']
