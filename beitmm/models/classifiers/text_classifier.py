"""Sequence classification on a text encoder: the pooled first token ([CLS] / <s>) -> a linear head, cross-entropy.

The pooler is BERT's (``pooler.dense`` + tanh on the first token; HF ``BertPooler``'s names), then dropout and
``classifier`` (a linear layer). The backbone is any :class:`~beitmm.models.backbones.TextBackbone`:
``beitmm.BertEncoder`` (BERT / RoBERTa / ELECTRA checkpoints), the language branch of ``beitmm.BEiT3`` or of
``beitmm.VLMo``. Predictions are mmpretrain ``DataSample`` s with ``pred_score`` / ``pred_label``, so mmpretrain's
``Accuracy`` metric scores them.

GLUE-style tasks: samples with a ``text_b`` are packed as pairs (``[CLS] a [SEP] b [SEP]``, segment ids 0 / 1;
:mod:`beitmm.text.pairs`); ``regression=True`` (STS-B) has one output, an MSE loss on ``gt_score`` and
``pred_score`` = the output. ``beitmm.GLUEMetric`` scores both.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import Tensor

from beitmm.registry import MODELS, TEXT_TOKENIZERS
from beitmm.text.pairs import encode_pairs

from ..backbones import check_text_backbone


@MODELS.register_module()
class TextClassifier(BaseModel):
    """Classify the ``text`` of each data sample.

    Args:
        backbone: Text encoder config (``beitmm.BertEncoder``, language ``beitmm.BEiT3``, ``beitmm.VLMo``).
        tokenizer: Text tokenizer config.
        num_classes: Classes (1 with ``regression``).
        max_len: Tokens per text, special tokens included (longer texts are truncated, counted).
        dropout: Dropout before the classifier (BERT: 0.1).
        data_preprocessor: mmengine data preprocessor config.
        init_cfg: mmengine init config (the backbone's own ``init_cfg`` loads a pretrained encoder).
        regression: One real output, MSE loss against ``gt_score`` (STS-B); ``num_classes`` must be 1.
    """

    def __init__(self, backbone: dict, tokenizer: dict, num_classes: int, max_len: int = 128, dropout: float = 0.1,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 regression: bool = False) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if regression and num_classes != 1:
            raise ValueError(f'TextClassifier: regression=True needs num_classes=1, got {num_classes}')
        if not regression and num_classes < 2:
            raise ValueError(f'TextClassifier: num_classes must be >= 2 (or 1 with regression=True), got '
                             f'{num_classes}')
        self.regression = regression
        self.backbone = check_text_backbone(MODELS.build(backbone), 'TextClassifier')
        self.tokenizer = TEXT_TOKENIZERS.build(tokenizer)
        self.tokenizer.check_embedding(self.backbone.word_embeddings.num_embeddings)
        C = self.backbone.embed_dims
        self.num_classes, self.max_len = num_classes, max_len
        self.pooler = nn.Module()
        self.pooler.dense = nn.Linear(C, C)
        self.pooler.activation = nn.Tanh()  # HF BertPooler's name; a module, so THE-X's converter can swap it
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(C, num_classes)
        self.register_buffer('_device', torch.zeros(0), persistent=False)

    def init_weights(self) -> None:
        """Backbone init (or checkpoint), then BERT's init of the pooler and classifier (N(0, 0.02), zero bias)."""
        super().init_weights()
        for m in (self.pooler.dense, self.classifier):
            nn.init.normal_(m.weight, std=.02)
            nn.init.zeros_(m.bias)

    def logits(self, texts: Sequence[str], texts_b: Optional[Sequence[str]] = None) -> Tensor:
        """Class logits [B, num_classes] of the texts, or of the pairs ``(texts[i], texts_b[i])``."""
        if texts_b is None:
            batch = self.tokenizer.encode_batch(list(texts), self.max_len, 'warn', 'longest')
            types = torch.zeros_like(batch['input_ids'])
        else:
            batch = encode_pairs(self.tokenizer, list(texts), list(texts_b), self.max_len)
            types = batch['token_types']
        ids = batch['input_ids'].to(self._device.device)  # [B, L]
        padding = batch['padding_mask'].to(ids.device)
        hidden = self.backbone.encode_text(ids, segments=types.to(ids.device), padding=padding)  # [B, L, C]
        pooled = self.pooler.activation(self.pooler.dense(hidden[:, 0]))  # [B, C]
        return self.classifier(self.dropout(pooled))

    def _texts(self, data_samples: Sequence) -> Tuple[List[str], Optional[List[str]]]:
        texts, texts_b = [], []
        for i, s in enumerate(data_samples):
            if not isinstance(s.get('text'), str):
                raise ValueError(f'TextClassifier: sample {i} (line {s.get("line")}) has no string `text`')
            texts.append(s.text)
            texts_b.append(s.get('text_b'))
        if all(b is None for b in texts_b):
            return texts, None
        if not all(isinstance(b, str) for b in texts_b):
            raise ValueError('TextClassifier: some samples of the batch have a string `text_b` and some not')
        return texts, texts_b

    def loss(self, data_samples: Sequence) -> Dict[str, Tensor]:
        """Cross-entropy and accuracy of the batch (regression: MSE against ``gt_score``)."""
        logits = self.logits(*self._texts(data_samples))
        if self.regression:
            if any(s.get('gt_score') is None for s in data_samples):
                raise ValueError('TextClassifier(regression=True): every sample needs a `gt_score` (pipeline: '
                                 'PackInputs packs a "gt_score" of the dataset item)')
            target = torch.stack([torch.as_tensor(s.gt_score).reshape(-1)[0] for s in data_samples]).float()
            target = target.to(logits.device)  # [B]
            return dict(loss=F.mse_loss(logits.float()[:, 0], target))
        labels = torch.stack([torch.as_tensor(s.gt_label).reshape(-1)[0] for s in data_samples]).long()
        labels = labels.to(logits.device)
        if int(labels.min()) < 0 or int(labels.max()) >= self.num_classes:
            raise ValueError(f'TextClassifier: labels must lie in [0, {self.num_classes}) (num_classes), got '
                             f'{labels.tolist()}')
        return dict(loss=F.cross_entropy(logits.float(), labels),
                    acc=(logits.detach().argmax(-1) == labels).float().mean())

    def predict(self, data_samples: Sequence) -> List[DataSample]:
        """The data samples with ``pred_score`` (softmax) and ``pred_label`` set (regression: the output)."""
        logits = self.logits(*self._texts(data_samples)).float()
        if self.regression:
            for s, out in zip(data_samples, logits, strict=True):
                s.set_field(out, 'pred_score')
            return list(data_samples)
        scores = logits.softmax(-1)
        for s, score in zip(data_samples, scores, strict=True):
            s.set_pred_score(score).set_pred_label(score.argmax())
        return list(data_samples)

    def forward(self, inputs=None, data_samples: Optional[List] = None, mode: str = 'loss'):
        """The mmengine entry: ``loss``, ``predict`` or ``tensor`` (logits)."""
        if mode == 'loss':
            return self.loss(data_samples)
        if mode == 'predict':
            return self.predict(data_samples)
        if mode == 'tensor':
            return self.logits(*self._texts(data_samples))
        raise ValueError(f"TextClassifier.forward: unknown mode {mode!r} ('loss', 'predict', 'tensor')")
