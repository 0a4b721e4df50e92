"""VQAv2 as multi-label classification over the answer vocabulary (BEiT-3 / VLMo / ViLT recipe).

mmpretrain's VQA models generate or rank answers; BEiT-3 and VLMo classify over the 3129 frequent answers with
soft (ViLT) targets, which mmpretrain has no head for.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from beitmm.registry import MODELS

from ..heads import Pooler, init_head, mlp_classifier
from .base import VLBaseModel, dense_soft_targets


@MODELS.register_module()
class VQAClassifier(VLBaseModel):
    """Pooler + MLP over the fused question-image tokens; BCE x ``num_labels`` against ViLT soft scores.

    BEiT-3 pools the image cls through ``pooler.{norm, dense}`` into ``head.{0, 1, 3}``; VLMo pools the text
    [CLS] through ``pooler.dense`` into ``vqa_classifier.{0, 1, 3}`` (the official names, so fine-tuned
    checkpoints load by copy).

    Args:
        backbone: ``beitmm.BEiT3`` (``normalize_output=False``, as unilm) or ``beitmm.VLMo`` config.
        tokenizer: Text tokenizer config.
        num_labels: Answer vocabulary size (VQAv2: 3129).
        max_text_len: Question tokens (BEiT-3: 64; VLMo: 40).
        answers: Answer strings by label id, to fill ``pred_answer`` (``beitmm.apis`` sets them from the
            checkpoint's ``dataset_meta``); without them the metric maps ``pred_label`` itself.
        loss_weight: Multiplier of the mean BCE (unilm / VLMo: ``num_labels``, i.e. a sum over answers).
        **kwargs: ``VLBaseModel`` arguments (``text_truncation``, ``data_preprocessor``, ``init_cfg``).
    """

    def __init__(self, backbone: dict, tokenizer: dict, num_labels: int = 3129, max_text_len: int = 64,
                 answers: Optional[Sequence[str]] = None, loss_weight: Optional[float] = None, **kwargs) -> None:
        super().__init__(backbone, tokenizer, max_text_len, **kwargs)
        C = self.embed_dims
        self.num_labels = num_labels
        self.loss_weight = float(num_labels if loss_weight is None else loss_weight)
        self.pooler = Pooler(C, with_norm=self.conventions.pooler_norm)
        self.head_name = self.conventions.vqa_head
        self.add_module(self.head_name, mlp_classifier(C, 2 * C, num_labels))
        self.fresh_heads = (self.head_name, )  # VLMo builds vqa_classifier after loading (vlmo_module.py:177-185)
        self.answers = list(answers) if answers is not None else None
        if self.answers is not None and len(self.answers) != num_labels:
            raise ValueError(f'{len(self.answers)} answers for num_labels={num_labels}')

    def init_heads(self) -> None:
        """Unilm's / VLMo's truncated-normal init of pooler and head (a VLMo start file then fills the pooler)."""
        init_head(self.pooler)
        init_head(getattr(self, self.head_name))

    def logits(self, images: Tensor, questions: Sequence[str]) -> Tensor:
        """Answer logits [B, num_labels] of images [B, 3, H, W] and their questions."""
        ids, pad = self.tokenize(questions)
        fused = self.encode(images, ids, pad)
        return getattr(self, self.head_name)(self.pooler(self.fusion_cls(fused)))

    def forward(self, images: Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        """The mmengine entry: ``loss`` (dict), ``predict`` (data samples with answers) or ``tensor`` (logits)."""
        if mode == 'tensor':
            return self.logits(images, self.texts_of(data_samples, 'question'))
        if mode == 'loss':
            return self.loss(images, data_samples)
        if mode == 'predict':
            return self.predict(images, data_samples)
        return self._forward_unsupported(mode)

    def loss(self, images: Tensor, data_samples: List) -> Dict[str, Tensor]:
        """BCE with logits (mean) x ``loss_weight`` against the soft scores."""
        for i, s in enumerate(data_samples):
            if 'answer_labels' not in s or 'answer_scores' not in s:
                raise ValueError(f'training sample {i} (question_id {s.get("question_id")}) has no answer_labels / '
                                 "answer_scores: train on an annotated split with PackInputs(algorithm_keys=[..., "
                                 "'answer_labels', 'answer_scores'])")
            if len(s.answer_labels) and max(s.answer_labels) >= self.num_labels:
                raise ValueError(f'question_id {s.get("question_id")}: label {max(s.answer_labels)} >= num_labels='
                                 f'{self.num_labels}; the answer vocabulary and the head disagree')
        logits = self.logits(images, self.texts_of(data_samples, 'question'))  # [B, num_labels]
        target = dense_soft_targets([s.answer_labels for s in data_samples],
                                    [s.answer_scores for s in data_samples], self.num_labels, logits.device)
        loss = F.binary_cross_entropy_with_logits(logits.float(), target) * self.loss_weight
        return dict(loss=loss)

    @torch.no_grad()
    def predict(self, images: Tensor, data_samples: List) -> List:
        """Set ``pred_label``, ``pred_score`` (sigmoid of the best answer) and ``pred_answer`` when known."""
        logits = self.logits(images, self.texts_of(data_samples, 'question'))
        scores, labels = logits.float().sigmoid().max(dim=1)
        for s, label, score in zip(data_samples, labels.tolist(), scores.tolist(), strict=True):
            s.set_field(label, 'pred_label', field_type='metainfo')
            s.set_field(score, 'pred_score', field_type='metainfo')
            if self.answers is not None:
                s.set_field(self.answers[label], 'pred_answer', field_type='metainfo')
        return data_samples
