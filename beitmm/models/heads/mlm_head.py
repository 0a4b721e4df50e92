"""BERT's masked-LM head (HF ``cls.predictions``): dense -> GELU -> LayerNorm -> decoder tied to the word embedding."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class MLMHead(nn.Module):
    """``transform.dense``, ``transform.LayerNorm``, ``bias``; the decoder weight is the word embedding (tied).

    With ``tie=False`` the head owns a bias-free ``decoder`` Linear [V, dim] instead (VLMo's ``heads.MLMHead``
    built without a weight, ``vlmo_module.py:140-142``: its files carry ``mlm_score.decoder.weight``).

    Args:
        dim: Width of the word embedding (the transform's output).
        word_embeddings: The encoder's token embedding [V, dim], shared as the output projection.
        eps: LayerNorm epsilon (BERT: 1e-12).
        in_dim: Width of the hidden states fed in; None: ``dim``. ELECTRA's generator (narrower than its embedding,
            HF ``generator_predictions.dense`` [E, C]) sets it.
        tie: Use the word embedding as the output projection (BERT); False: an own ``decoder`` (VLMo).
    """

    def __init__(self, dim: int, word_embeddings: nn.Embedding, eps: float = 1e-12,
                 in_dim: Optional[int] = None, tie: bool = True) -> None:
        super().__init__()
        self.transform = nn.Module()
        self.transform.dense = nn.Linear(in_dim or dim, dim)
        self.transform.LayerNorm = nn.LayerNorm(dim, eps=eps)
        self.bias = nn.Parameter(torch.zeros(word_embeddings.num_embeddings))
        self._words = [word_embeddings]  # a plain list: the embedding stays the backbone's parameter
        self.tie = tie
        if not tie:
            self.decoder = nn.Linear(dim, word_embeddings.num_embeddings, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Hidden [..., in_dim] -> logits [..., V]."""
        x = self.transform.LayerNorm(F.gelu(self.transform.dense(x)))
        weight = self._words[0].weight if self.tie else self.decoder.weight  # [V, dim]
        return F.linear(x, weight, self.bias)


def init_mlm_head(head: MLMHead) -> None:
    """BERT's init of the transform: truncated normal (0.02) dense, zero biases, LayerNorm 1 / 0.

    An own decoder (``tie=False``) gets N(0, 0.02), VLMo's ``objectives.init_weights``.
    """
    nn.init.trunc_normal_(head.transform.dense.weight, std=.02, a=-.04, b=.04)
    if not head.tie:
        nn.init.normal_(head.decoder.weight, std=.02)
    nn.init.zeros_(head.transform.dense.bias)
    nn.init.ones_(head.transform.LayerNorm.weight)
    nn.init.zeros_(head.transform.LayerNorm.bias)
    nn.init.zeros_(head.bias)


class MLMHeadMixin:
    """Adds the tied ``cls.predictions`` head and the random-replacement ids to a text model over ``self.backbone``."""

    def build_mlm_head(self, word_embeddings: nn.Embedding, tokenizer, eps: float = 1e-12) -> None:
        """Create ``self.cls.predictions`` (HF BERT's name: BERT-family MLM heads load by copy) and ``random_ids``.

        Args:
            word_embeddings: The backbone's token embedding, tied to the head's decoder.
            tokenizer: The text tokenizer (its special ids are never random replacements).
            eps: The transform's LayerNorm eps (HF ``config.layer_norm_eps``: BERT 1e-12, RoBERTa 1e-5).
        """
        self.cls = nn.Module()
        self.cls.predictions = MLMHead(word_embeddings.embedding_dim, word_embeddings, eps=eps)
        special = set(tokenizer.special_ids.values())
        self.register_buffer('random_ids', torch.tensor([i for i in range(tokenizer.num_ids) if i not in special]),
                             persistent=False)

    def init_weights(self) -> None:
        """Backbone init (or checkpoint), then BERT's init of the head's transform."""
        super().init_weights()
        init_mlm_head(self.cls.predictions)
