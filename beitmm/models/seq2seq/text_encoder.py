"""One call convention for the text encoders of s2s-ft and text MLM: BertEncoder, BEiT-3 and VLMo text branches."""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor


def is_vlmo(backbone: nn.Module) -> bool:
    """Whether the backbone is a ``beitmm.VLMo`` / ``beitmm.VLBEiT`` (its text branch)."""
    return hasattr(backbone, 'text_embeddings') and hasattr(backbone, 'relative_position_bias_table')


def is_beit3(backbone: nn.Module) -> bool:
    """Whether the backbone is a ``beitmm.BEiT3`` (its text branch) rather than a ``beitmm.BertEncoder``."""
    return hasattr(backbone, 'text_embed')


def word_embeddings(backbone: nn.Module) -> nn.Embedding:
    """The backbone's token embedding (tied to the MLM head's decoder)."""
    if is_vlmo(backbone):
        return backbone.text_embeddings.word_embeddings
    return backbone.text_embed if is_beit3(backbone) else backbone.embeddings.word_embeddings


def set_word_embeddings(backbone: nn.Module, embedding: nn.Embedding) -> None:
    """Make ``embedding`` the backbone's token embedding (ties it to another model's, ELECTRA)."""
    if is_vlmo(backbone):
        backbone.text_embeddings.word_embeddings = embedding
    elif is_beit3(backbone):
        backbone.text_embed = embedding
    else:
        backbone.embeddings.word_embeddings = embedding


def text_width(backbone: nn.Module) -> int:
    """Width C of the backbone's hidden states (``hidden_size`` of BertEncoder, ``embed_dims`` of BEiT-3 / VLMo)."""
    return backbone.embed_dims if is_vlmo(backbone) or is_beit3(backbone) else backbone.hidden_size


def has_token_types(backbone: nn.Module) -> bool:
    """Whether the backbone reads segment ids: a ``BertEncoder`` with a token-type table (not RoBERTa / XLM-R)."""
    return not (is_vlmo(backbone) or is_beit3(backbone)) and getattr(backbone, 'type_vocab_size', 0) > 0


def text_layer_norm_eps(backbone: nn.Module) -> float:
    """LayerNorm eps of a ``BertEncoder`` (its ``layer_norm_eps``: BERT 1e-12, RoBERTa 1e-5).

    BEiT-3 / VLMo text branches: 1e-12 (BERT's, as VLMo's MLM head).
    """
    if is_vlmo(backbone) or is_beit3(backbone):
        return 1e-12
    return backbone.embeddings.LayerNorm.eps


def run_text(backbone: nn.Module, ids: Tensor, positions: Optional[Tensor] = None, segments: Optional[Tensor] = None,
             attn_mask: Optional[Tensor] = None, padding: Optional[Tensor] = None, kv_cache=None) -> Tensor:
    """Hidden states [B, N, C] of token ids [B, N].

    Args:
        backbone: ``beitmm.BertEncoder``, a ``beitmm.BEiT3`` with the language branch, or a ``beitmm.VLMo``.
        ids: Token ids.
        positions: Position ids [B, N] / [N] (default 0..N-1).
        segments: Token types [B, N] (BEiT-3 has none: ignored).
        attn_mask: Bool [B|1, 1, N, N_keys], True = may attend.
        padding: Bool [B, N], True at padding (keys never attended).
        kv_cache: ``beitmm.models.generation.KVCache`` of incremental decoding.
    """
    if is_vlmo(backbone):  # relative positions only; padding goes into the mask
        if padding is not None:
            from beitmm.models.layers.attention_masks import combine_masks, padding_to_attn_mask
            attn_mask = combine_masks(attn_mask, padding_to_attn_mask(padding))
        return backbone(text=ids, text_positions=positions if positions is not None else
                        torch.arange(ids.shape[1], device=ids.device), attn_mask=attn_mask, kv_cache=kv_cache)[-1]
    if is_beit3(backbone):
        return backbone(text=ids, text_padding_mask=padding, text_positions=positions, attn_mask=attn_mask,
                        kv_cache=kv_cache)[-1]
    return backbone(ids, padding_mask=padding, attn_mask=attn_mask, positions=positions, token_types=segments,
                    kv_cache=kv_cache)
