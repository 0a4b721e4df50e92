"""Image-text retrieval with a dual encoder (BEiT-3 ``BEiT3ForRetrieval``, VLMo ``compute_irtr``).

Training: symmetric contrastive loss over the batch gathered from every rank (:mod:`beitmm.models.losses.contrastive`:
BEiT-3's ``ClipLoss`` gathers with gradients, VLMo's ``compute_irtr`` without; each family's way by default), learnable
unclamped ``logit_scale``. Evaluation: mmpretrain's ``RetrievalValLoop`` / ``RetrievalTestLoop`` collect
``mode='tensor'`` features of every image and every caption once (N + M forwards); :meth:`predict_all` scores them (dual
encoder: VLMo's ``compute_irtr_recall`` and BEiT-3's evaluation). ``rerank_topk`` adds beitmm's own protocol (not
VLMo's: its ``compute_irtr_recall_with_rerank`` is never called, ``vlmo_utils.py:111-118``): each query's top-k
re-scored by the fusion encoder's ITM log-probability, trained with ``itm_loss_weight``.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.structures import DataSample
from torch import Tensor

from beitmm.registry import MODELS

from ..heads import Pooler, Projection, init_head
from ..losses import contrastive_loss, hard_negative_itm_loss
from ..utils import gather_by_id
from .base import VLBaseModel


@MODELS.register_module()
class DualEncoderRetriever(VLBaseModel):
    """Contrastive dual encoder over a Multiway backbone, with optional ITM re-ranking (beitmm's protocol).

    Args:
        backbone: ``beitmm.BEiT3`` (``normalize_output=True``, as unilm) or ``beitmm.VLMo`` config.
        tokenizer: Text tokenizer config.
        max_text_len: Caption tokens (BEiT-3: 64; VLMo: 40).
        logit_scale_init: Initial temperature 1/T (log is learned; BEiT-3: 1/0.07).
        rerank_topk: > 0: re-rank each query's top-k by the fusion encoder's ITM log-probability (beitmm's own
            protocol; VLMo's reported recalls are the dual encoder's, ``rerank_topk=0``).
        itm_loss_weight: Weight of an ITM loss with ITC-sampled hard negatives (needed to train the re-ranker).
        gather_grad: Gather the features with gradients (BEiT-3's ``ClipLoss``) or without (VLMo's
            ``compute_irtr``); None: the backbone family's own (see :mod:`beitmm.models.losses.contrastive`).
        **kwargs: ``VLBaseModel`` arguments.
    """

    def __init__(self, backbone: dict, tokenizer: dict, max_text_len: int = 64, logit_scale_init: float = 1 / 0.07,
                 rerank_topk: int = 0, itm_loss_weight: float = 0., gather_grad: Optional[bool] = None,
                 **kwargs) -> None:
        super().__init__(backbone, tokenizer, max_text_len, **kwargs)
        C, family = self.embed_dims, self.conventions
        self.head_names = family.retrieval_heads  # (image, text): BEiT-3 vision_head / language_head, VLMo itc_*_proj
        for name in self.head_names:
            self.add_module(name, Projection(C) if family.retrieval_fc else nn.Linear(C, C, bias=False))
        self.logit_scale = nn.Parameter(torch.tensor(float(logit_scale_init)).log())
        self.rerank_topk, self.itm_loss_weight = rerank_topk, itm_loss_weight
        self.gather_grad = family.gather_grad if gather_grad is None else gather_grad
        if rerank_topk or itm_loss_weight:
            self.pooler = Pooler(C, with_norm=family.pooler_norm)
            self.itm_score = Projection(C, 2)
            self.itm_score.fc = nn.Linear(C, 2)  # VLMo's ITMHead has a bias
            self.head_names += ('pooler', 'itm_score')

    def init_heads(self) -> None:
        """Truncated-normal projections; ``logit_scale`` stays at its init (a VLMo start file then fills them all)."""
        for name in self.head_names:
            init_head(getattr(self, name))

    # ------------------------------------------------------------------ features
    def image_features(self, images: Tensor) -> Tensor:
        """L2-normalised image embeddings [B, C] (image-only pass, cls token)."""
        x = self.image_cls(self.encode(images))
        x = getattr(self, self.head_names[0])(x)
        return F.normalize(x.float(), dim=-1)

    def text_features(self, ids: Tensor, padding: Tensor) -> Tensor:
        """L2-normalised text embeddings [B, C] (text-only pass, first token)."""
        x = self.text_cls(self.encode(None, ids, padding))
        x = getattr(self, self.head_names[1])(x)
        return F.normalize(x.float(), dim=-1)

    def itm_logits(self, images: Tensor, ids: Tensor, padding: Tensor) -> Tensor:
        """ITM logits [B, 2] (no match, match) of image-text pairs through the fusion encoder."""
        return self.itm_score(self.pooler(self.fusion_cls(self.encode(images, ids, padding))))

    # ------------------------------------------------------------------ mmengine entry
    def forward(self, images: Optional[Tensor] = None, data_samples: Optional[List] = None, mode: str = 'tensor'):
        """``loss`` (contrastive [+ ITM]), ``tensor`` (features for the retrieval loops); no batch ``predict``."""
        if mode == 'loss':
            return self.loss(images, data_samples)
        if mode == 'tensor':
            return self.extract_feat(images, data_samples)
        if mode == 'predict':
            raise ValueError('retrieval ranks every image against every caption: evaluate with '
                             "val_cfg / test_cfg = dict(type='mmpretrain.RetrievalValLoop' / 'RetrievalTestLoop')")
        return self._forward_unsupported(mode)

    def loss(self, images: Tensor, data_samples: List) -> Dict[str, Tensor]:
        """Symmetric InfoNCE over the global batch (labels offset by rank), plus the optional ITM loss."""
        ids, pad = self.tokenize(self.texts_of(data_samples, 'text'))
        img, txt = self.image_features(images), self.text_features(ids, pad)  # [b, C] each
        scale = self.logit_scale.exp()
        itc = contrastive_loss(img, txt, scale, self.gather_grad)  # i2t / t2i: this rank's rows [b, world * b]
        losses = dict(loss_itc=itc['loss'])
        if self.itm_loss_weight:
            losses['loss_itm'] = self.itm_loss_weight * hard_negative_itm_loss(
                self.itm_logits, images, ids, pad, itc['i2t'].detach(), itc['t2i'].detach(), itc['labels'])
        losses['logit_scale'] = scale.detach()
        return losses

    def extract_feat(self, images: Optional[Tensor], data_samples: Optional[List]) -> Dict[str, Tensor]:
        """Features of this batch: every image once and every caption of it once.

        Args:
            images: [b, 3, H, W] or None.
            data_samples: Test items (one per image, ``text`` = its captions) or train items (``text`` str).

        Returns:
            ``image_feat`` [b, C] and ``text_feat`` [m, C]; with re-ranking also ``image`` (fp16 pixels),
            ``text_ids`` and ``text_padding`` for the fusion encoder.
        """
        out = {}
        if images is not None:
            out['image_feat'] = self.image_features(images)
            if self.rerank_topk:
                out['image'] = images.half()
        texts = [t for s in data_samples or [] for t in ([s.text] if isinstance(s.text, str) else list(s.text))]
        if texts:
            ids, pad = self.tokenize(texts)
            out['text_feat'] = self.text_features(ids, pad)
            if self.rerank_topk:
                out.update(text_ids=ids, text_padding=pad)
        return out

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def predict_all(self, feats: Dict[str, Tensor], data_samples: List, num_images: Optional[int] = None,
                    num_texts: Optional[int] = None) -> Tuple[List, List]:
        """Score this rank's images against all captions and its captions against all images.

        Args:
            feats: Concatenated ``extract_feat`` outputs of this rank.
            data_samples: This rank's test items (one per image).
            num_images: Images of the whole dataset (trims the samplers' padding).
            num_texts: Captions of the whole dataset.

        Returns:
            (i2t samples, one per local image; t2i samples, one per local caption), with ``pred_score`` over
            all candidates and ``gt_label`` the matching candidates, as mmpretrain's ``RetrievalRecall`` reads.
        """
        img, txt = feats['image_feat'], feats['text_feat']
        img_ids, txt_ids = self._global_ids(data_samples, img.device)
        # samplers deal items to ranks interleaved (and pad): put gathered rows back at their dataset index
        all_img = gather_by_id(img, img_ids, num_images)
        all_txt = gather_by_id(txt, txt_ids, num_texts)
        i2t, t2i = img @ all_txt.t(), txt @ all_img.t()  # [n, M], [m, N]
        if self.rerank_topk:
            ids, pad = (gather_by_id(feats[k], txt_ids, num_texts) for k in ('text_ids', 'text_padding'))
            i2t = self._rerank(i2t, feats['image'], ids, pad, images_are_queries=True)
            t2i = self._rerank(t2i, gather_by_id(feats['image'], img_ids, num_images), feats['text_ids'],
                               feats['text_padding'], images_are_queries=False)
        return self._samples(i2t, data_samples, 'i2t'), self._samples(t2i, data_samples, 't2i')

    @staticmethod
    def _global_ids(data_samples: Sequence, device: torch.device) -> Tuple[Tensor, Tensor]:
        """Dataset indices of this rank's images (``image_id``) and captions (``gt_text_id``)."""
        try:
            img = [int(s.image_id) for s in data_samples]
            txt = [int(t) for s in data_samples for t in s.gt_text_id]
        except (AttributeError, KeyError) as err:
            raise ValueError('retrieval evaluation needs each test item\'s image_id (running image index) and '
                             "gt_text_id: pack them with PackInputs(algorithm_keys=['text', 'gt_text_id', "
                             "'gt_image_id'], meta_keys=['image_id'])") from err
        return torch.tensor(img, device=device), torch.tensor(txt, device=device)

    def _rerank(self, sims: Tensor, images: Tensor, ids: Tensor, pad: Tensor, images_are_queries: bool) -> Tensor:
        """ITM log-probability of a match for each query's top-k candidates; -100 for the others."""
        k = min(self.rerank_topk, sims.shape[1])
        out = torch.full_like(sims, -100.)  # candidates outside the top-k rank below every re-ranked one
        top = sims.topk(k, dim=1).indices  # [Q, k]
        for q in range(sims.shape[0]):
            if images_are_queries:
                img, tid, tpad = images[q:q + 1].float().expand(k, -1, -1, -1), ids[top[q]], pad[top[q]]
            else:
                img, tid, tpad = images[top[q]].float(), ids[q:q + 1].expand(k, -1), pad[q:q + 1].expand(k, -1)
            out[q, top[q]] = self.itm_logits(img, tid, tpad).float().log_softmax(-1)[:, 1]
        return out

    @staticmethod
    def _samples(scores: Tensor, data_samples: Sequence, mode: str) -> List[DataSample]:
        out = []
        for s in data_samples:
            if mode == 'i2t':
                out.append(DataSample())
                if 'gt_text_id' in s:
                    out[-1].gt_label = s.gt_text_id
            else:
                texts = [s.text] if isinstance(s.text, str) else list(s.text)
                for i in range(len(texts)):
                    out.append(DataSample())
                    if 'gt_image_id' in s:
                        out[-1].gt_label = s.gt_image_id[i]
        if len(out) != scores.shape[0]:
            raise ValueError(f'{len(out)} {mode} queries in the data samples but {scores.shape[0]} score rows')
        for sample, row in zip(out, scores, strict=True):
            sample.set_pred_score(row)
            sample.set_pred_label(row.argmax(keepdim=True))
        return out
