"""BERT-style masked language modeling of a text encoder (pretrains the s2s-ft demo's encoder; text MLM for others).

15% of the non-special tokens of each text are selected and corrupted 80 / 10 / 10 ([MASK] / random / kept, the same
:func:`beitmm.text.masking.corrupt` as s2s-ft); cross-entropy at the selected tokens through the tied
``cls.predictions`` head, so the checkpoint loads into :class:`beitmm.models.seq2seq.Seq2SeqFinetuner` (same backbone
and head names) by copy.
"""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import Tensor

from beitmm.registry import MODELS, TEXT_TOKENIZERS
from beitmm.text.masking import corrupt

from ..backbones import check_text_backbone
from ..heads import MLMHeadMixin


def select_tokens(ids: Tensor, padding: Tensor, special_ids: Iterable[int], mask_prob: float,
                  generator: Optional[torch.Generator] = None) -> Tensor:
    """Choose the tokens to mask: ``mask_prob`` of each text's real non-special tokens (at least one), uniformly.

    Args:
        ids: Token ids [B, L].
        padding: Bool [B, L], True at padding.
        special_ids: Ids never chosen ([CLS], [SEP], [PAD], ...).
        mask_prob: Fraction chosen (rounded per text, at least 1 of a non-empty text).
        generator: Optional torch random generator (default: torch's global stream).

    Returns:
        Bool [B, L], True at the chosen tokens.
    """
    special = torch.isin(ids, torch.tensor(sorted(special_ids), device=ids.device))
    candidate = ~padding & ~special
    n = candidate.sum(1)
    k = torch.clamp((n.float() * mask_prob).round().long(), min=1) * (n > 0)
    draw = torch.rand(ids.shape, generator=generator, device=ids.device).masked_fill(~candidate, 2.)
    return draw.argsort(1).argsort(1) < k[:, None]


def encode_texts(tokenizer, data_samples: Sequence, max_len: int, device: torch.device,
                 who: str) -> Tuple[Tensor, Tensor]:
    """Token ids and padding mask [B, L] of the samples' ``src`` texts (longest in the batch, at most ``max_len``).

    Args:
        tokenizer: A beitmm text tokenizer.
        data_samples: Samples with a ``src`` text (``line`` names them in errors).
        max_len: Truncation length (with a warning).
        device: Where the tensors go.
        who: The model's name for the error message.

    Returns:
        ``(ids, padding)``, long and bool [B, L].
    """
    texts: List[str] = []
    for i, s in enumerate(data_samples):
        if not isinstance(s.get('src'), str):
            raise ValueError(f'{who}: sample {i} (line {s.get("line")}) has no text `src`')
        texts.append(s.src)
    batch = tokenizer.encode_batch(texts, max_len, 'warn', 'longest')
    ids = batch['input_ids'].to(device)
    return ids, batch['padding_mask'].to(device)


@MODELS.register_module()
class TextMaskedLM(MLMHeadMixin, BaseModel):
    """Masked language modeling on the ``src`` texts of the data samples.

    Args:
        backbone: ``beitmm.BertEncoder`` or a language-only ``beitmm.BEiT3`` config.
        tokenizer: Text tokenizer config.
        max_len: Tokens per text, special tokens included (longer texts are truncated, counted).
        mask_prob: Fraction of the non-special tokens selected (BERT: 0.15), at least one per text.
        data_preprocessor: mmengine data preprocessor config.
        init_cfg: mmengine init config.
    """

    def __init__(self, backbone: dict, tokenizer: dict, max_len: int = 128, mask_prob: float = 0.15,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not 0 < mask_prob < 1:
            raise ValueError(f'mask_prob must be in (0, 1), got {mask_prob}')
        self.backbone = check_text_backbone(MODELS.build(backbone), 'TextMaskedLM')
        self.tokenizer = TEXT_TOKENIZERS.build(tokenizer)
        words = self.backbone.word_embeddings
        self.tokenizer.check_embedding(words.num_embeddings)
        self.max_len, self.mask_prob = max_len, mask_prob
        self.build_mlm_head(words, self.tokenizer)

    def select(self, ids: Tensor, padding: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
        """Bool [B, L]: ``mask_prob`` of each text's real non-special tokens (at least one), uniformly drawn."""
        return select_tokens(ids, padding, self.tokenizer.special_ids.values(), self.mask_prob, generator)

    def loss(self, data_samples: Sequence) -> Dict[str, Tensor]:
        """Cross-entropy at the selected tokens, and their accuracy."""
        ids, padding = encode_texts(self.tokenizer, data_samples, self.max_len, self.random_ids.device, 'TextMaskedLM')
        chosen = self.select(ids, padding)
        inputs = corrupt(ids, chosen, self.tokenizer.mask_id, self.random_ids)
        hidden = self.backbone.encode_text(inputs, segments=torch.zeros_like(inputs), padding=padding)
        logits = self.cls.predictions(hidden[chosen])  # [M, V]
        labels = ids[chosen]
        return dict(loss=F.cross_entropy(logits.float(), labels),
                    acc=(logits.detach().argmax(-1) == labels).float().mean())

    def forward(self, inputs=None, data_samples: Optional[List] = None, mode: str = 'loss'):
        """The mmengine entry: ``loss`` only (pretraining)."""
        if mode == 'loss':
            return self.loss(data_samples)
        raise ValueError(f"TextMaskedLM.forward: mode {mode!r}; pretraining has only 'loss'")
