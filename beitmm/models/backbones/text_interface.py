"""What text and vision-language task models ask of a text-capable backbone, declared by the backbone.

Task models (MLM, ELECTRA, s2s-ft, text classification, masked data modeling, VLMo pretraining, the VL task models)
never tell backbones apart by their attributes: every text-capable backbone (``beitmm.BertEncoder``,
``beitmm.BEiT3``, ``beitmm.VLMo`` / ``beitmm.VLBEiT``) derives from :class:`TextBackbone` and declares

- ``family``: whose conventions it follows (``'bert'``, ``'beit3'``, ``'vlmo'``): the VL task models read their
  module names, pooler and head init from a per-family table (``beitmm.models.multimodal.base.VL_FAMILIES``);
- ``token_order``: where the text sits in the ``'raw'`` output of an image-text pair: ``'image_first'`` (BEiT-3:
  ``[image cls; patches; text]``), ``'text_first'`` (VLMo: ``[text; image cls; patches]``) or ``'text_only'``;
- ``mlm_head_eps``: the LayerNorm epsilon of a BERT MLM head on it (HF ``config.layer_norm_eps``);
- ``checkpoint_converter``: the :mod:`beitmm.checkpoint` converter of its files (declared beside, as before);

and implements ``embed_dims``, ``vocab_size``, ``uses_segments``, the ``word_embeddings`` property (with a setter:
ELECTRA ties its generator's to the discriminator's) and :meth:`TextBackbone.encode_text`. The vision-language ones
(``token_order`` other than ``'text_only'``) also have ``patch_size``, ``num_layers``, ``use_mask_token``,
``out_type`` and ``forward(image=, text=, text_padding_mask=, image_mask=, attn_mask=)`` returning a tuple whose last
entry is the 'raw' hidden states [B, N, C]. ``tests/test_registry.py`` checks every registered backbone against what
it declares.
"""
from typing import ClassVar, Optional, Tuple

import torch.nn as nn
from torch import Tensor

FAMILIES = ('bert', 'beit3', 'vlmo')
TOKEN_ORDERS = ('text_only', 'image_first', 'text_first')


class TextBackbone:
    """Mixin of the text-capable backbones: the members text task models use (see the module docstring).

    Attributes:
        family: Conventions the backbone follows, one of :data:`FAMILIES`.
        token_order: Layout of an image-text pair's output, one of :data:`TOKEN_ORDERS`.
        mlm_head_eps: LayerNorm epsilon of an MLM head built on the backbone.
        word_embeddings_path: Dotted module path of the token embedding (read by :attr:`word_embeddings`).
        embed_dims: Width C of the hidden states (set by the backbone).
        vocab_size: Rows of the token embedding (set by the backbone).
    """

    family: ClassVar[str]
    token_order: ClassVar[str]
    mlm_head_eps: ClassVar[float] = 1e-12  # BERT's
    word_embeddings_path: ClassVar[str]
    embed_dims: int
    vocab_size: int

    @property
    def uses_segments(self) -> bool:
        """Whether :meth:`encode_text` reads segment ids (a token-type table); False: ``segments`` is ignored."""
        return False

    @property
    def word_embeddings(self) -> nn.Embedding:
        """The token embedding [V, E] (MLM heads tie their decoder to it)."""
        owner, name = self._word_embeddings_owner()
        return getattr(owner, name)

    @word_embeddings.setter
    def word_embeddings(self, embedding: nn.Embedding) -> None:
        owner, name = self._word_embeddings_owner()
        setattr(owner, name, embedding)

    def __setattr__(self, name: str, value) -> None:
        # nn.Module.__setattr__ would register a module given to ``word_embeddings`` as a new child, past the setter
        if name == 'word_embeddings':
            type(self).word_embeddings.fset(self, value)
        else:
            super().__setattr__(name, value)

    def _word_embeddings_owner(self) -> Tuple[nn.Module, str]:
        path, _, name = self.word_embeddings_path.rpartition('.')
        owner = self
        for part in path.split('.') if path else ():
            owner = owner._modules.get(part)
            if owner is None:
                break
        if owner is None or name not in owner._modules:
            raise ValueError(f'this {type(self).__name__} has no text branch ({self.word_embeddings_path}): build '
                             'it with the language modality')
        return owner, name

    def encode_text(self, ids: Tensor, positions: Optional[Tensor] = None, segments: Optional[Tensor] = None,
                    attn_mask: Optional[Tensor] = None, padding: Optional[Tensor] = None, kv_cache=None) -> Tensor:
        """Hidden states [B, N, C] of token ids [B, N] (text only); the first token is the [CLS] / <s> position.

        Args:
            ids: Token ids [B, N].
            positions: Position ids [B, N] / [N] counted from 0 (default ``0..N-1``).
            segments: Token types [B, N]; read only where :attr:`uses_segments`.
            attn_mask: Bool [B|1, 1, N, N_keys], True = may attend (keys: cached tokens, then these).
            padding: Bool [B, N], True at padding (never attended).
            kv_cache: ``beitmm.models.generation.KVCache`` of incremental decoding, or None.

        Returns:
            The last layer's hidden states [B, N, C].
        """
        raise NotImplementedError(f'{type(self).__name__} declares TextBackbone but has no encode_text')

    def text_slice(self, num_tokens: int, num_text: int) -> slice:
        """Where the ``num_text`` text tokens sit in an output of ``num_tokens`` tokens (see ``token_order``)."""
        return slice(0, num_text) if self.token_order != 'image_first' else slice(num_tokens - num_text, num_tokens)

    def image_slice(self, num_tokens: int, num_text: int) -> slice:
        """Where the image tokens (cls, then patches) sit in an output of ``num_tokens`` tokens with ``num_text``."""
        if self.token_order == 'text_only':
            raise ValueError(f'{type(self).__name__} encodes no image')
        return slice(num_text, num_tokens) if self.token_order == 'text_first' else slice(0, num_tokens - num_text)


def check_text_backbone(backbone: nn.Module, owner: str, token_orders: Tuple[str, ...] = TOKEN_ORDERS,
                        families: Tuple[str, ...] = FAMILIES) -> TextBackbone:
    """``backbone`` if it is a :class:`TextBackbone` of one of ``token_orders`` and ``families``, else a clear error.

    Args:
        backbone: The built backbone.
        owner: The task model's name, for the message.
        token_orders: Layouts the task model can read.
        families: Families the task model supports.

    Returns:
        The backbone.
    """
    if not isinstance(backbone, TextBackbone) or backbone.token_order not in token_orders \
            or backbone.family not in families:
        raise TypeError(f'{owner} needs a text-capable backbone (beitmm TextBackbone) of family {families} with '
                        f'token_order {token_orders}, got {type(backbone).__name__} '
                        f'({getattr(type(backbone), "family", "no family")}, '
                        f'{getattr(type(backbone), "token_order", "no token_order")})')
    return backbone
