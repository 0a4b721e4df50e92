"""VLMo's stagewise pretraining (microsoft/unilm ``vlmo/``: ``run.py``, ``vlmo/modules/objectives.py``).

Stage 1 (image only) is a BEiT checkpoint (beitmm's own BEiT pretraining or an official file): the 'vlmo' converter
maps it into the attention and the vision experts when this model loads it (``init_cfg``), no offline step.
Stage 2 (text only, ``loss_weights=dict(textmlm=1)``): MLM through the language experts with every parameter frozen
except the ones VLMo's ``run.py`` trains (text / token-type embeddings, ``mlp_text``, ``norm2_text``, the MLM head,
the merged relative position table, the final ``transformer.norm``): attention, ``norm1``, ``gamma_1`` /
``gamma_2``, the vision experts, the patch embedding and the cls token stay frozen. Stage 3 (image-text,
``dict(itc=1, itm=1, mlm=1)``): ITC on the dual-encoder paths plus the second ITC through the VL experts (VLMo's
``itc_vl_*`` and ``logit_vl_scale``; the loss is their mean), ITM with one hard negative text and image per pair
drawn from the ITC similarities over the global batch (``hard_negative_itm_loss``), MLM on the fusion path (VLMo
scales it by 0.25: ``mlm_scale``). ITC gathers the features as VLMo does (``gather_grad=False``: without gradient,
see :mod:`beitmm.models.losses.contrastive`); the MLM head has its own decoder (``mlm_score.decoder``), as VLMo's.
The VL experts are missing from the stage-2 checkpoint and start from the model's random init, as VLMo does
(``load_state_dict(strict=False)``; it copies neither the language nor the vision expert).
"""
import logging
import re
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModel
from torch import Tensor

from beitmm.registry import MODELS

from ..backbones import check_text_backbone
from ..heads import MLMHead, Pooler, Projection, init_head, init_mlm_head
from ..losses import contrastive_loss, hard_negative_itm_loss, mlm_loss

OBJECTIVES = ('textmlm', 'itc', 'itm', 'mlm')
# VLMo run.py: with textmlm on, only parameters whose name contains one of these are trained
VLMO_TEXT_STAGE_TRAINABLE = ('text_embeddings', 'token_type_embeddings', 'mlp_text', 'norm2_text', 'mlm_score',
                             'relative_position_bias_table', 'transformer.norm')


def summarise_names(names: Sequence[str]) -> List[str]:
    """Parameter names with block indices folded (``blocks.*.mlp_imag.fc1.weight``), sorted, for the log."""
    return sorted({re.sub(r'\.(\d+)\.', '.*.', n) for n in names})


@MODELS.register_module()
class VLMoPretraining(BaseModel):
    """VLMo stage 2 (text-only MLM, frozen vision side) and stage 3 (ITC + ITM + MLM) over ``beitmm.VLMo``.

    Args:
        backbone: ``beitmm.VLMo`` config (stage 2: ``vlffn_start`` = depth, no VL expert, as VLMo's textmlm).
        loss_weights: Weight per objective in :data:`OBJECTIVES`; heads are built for the objectives with a
            weight > 0 (VLMo's ``loss_names``).
        mlm_scale: Factor of the fusion MLM loss (VLMo ``compute_mlm``: 0.25).
        trainable: When given, every parameter whose name contains none of these substrings is frozen (VLMo stage 2:
            :data:`VLMO_TEXT_STAGE_TRAINABLE`); the frozen set is logged at build time.
        logit_scale_init: Initial 1 / temperature of both ITC losses (VLMo: 1 / 0.07).
        gather_grad: Gather the ITC features with gradients (BEiT-3 / open_clip) instead of VLMo's gather without
            (default False, VLMo ``objectives.compute_itc``; see :mod:`beitmm.models.losses.contrastive`).
        data_preprocessor: Default ``beitmm.MultiStreamDataPreprocessor`` (VLMo normalises with 0.5 / 0.5).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)``: a BEiT (stage 1), stage-2 or VLMo checkpoint loaded
            through the 'vlmo' converter into the whole model (heads of the same name are copied).
    """

    def __init__(self, backbone: dict, loss_weights: Dict[str, float], mlm_scale: float = 0.25,
                 trainable: Optional[Sequence[str]] = None, logit_scale_init: float = 1 / 0.07,
                 gather_grad: bool = False, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor or dict(type='beitmm.MultiStreamDataPreprocessor'),
                         init_cfg=init_cfg)
        unknown = set(loss_weights) - set(OBJECTIVES)
        if unknown or not any(loss_weights.values()):
            raise ValueError(f'loss_weights {loss_weights}: keys among {OBJECTIVES}, at least one weight > 0')
        self.loss_weights = {k: float(loss_weights.get(k, 0.)) for k in OBJECTIVES}
        self.mlm_scale, self.gather_grad = mlm_scale, gather_grad
        self.backbone = check_text_backbone(MODELS.build(backbone), 'VLMoPretraining', families=('vlmo', ))
        C, w = self.backbone.embed_dims, self.loss_weights
        if w['textmlm'] or w['mlm']:
            words = self.backbone.word_embeddings
            self.mlm_score = MLMHead(C, words, tie=False)  # VLMo's name and untied decoder (heads.py MLMHead)
        if w['itc'] or w['itm']:  # ITM draws its negatives from the ITC similarities
            if self.backbone.vlffn_start >= self.backbone.num_layers:
                raise ValueError('stage-3 ITC runs the second contrastive loss through the VL experts: build the '
                                 f'backbone with vlffn_start < {self.backbone.num_layers} (VLMo-B: 10)')
            for name in ('itc_text_proj', 'itc_image_proj', 'itc_vl_text_proj', 'itc_vl_image_proj'):
                setattr(self, name, Projection(C))
            self.logit_scale = nn.Parameter(torch.tensor(float(logit_scale_init)).log())
            self.logit_vl_scale = nn.Parameter(torch.tensor(float(logit_scale_init)).log())
        if w['itm']:
            self.pooler = Pooler(C, with_norm=False)  # VLMo's pooler: dense + tanh on the text [CLS]
            self.itm_score = Projection(C, 2)
            self.itm_score.fc = nn.Linear(C, 2)  # VLMo's ITMHead has a bias
        self.trainable = tuple(trainable) if trainable else None
        if self.trainable:
            self.freeze()

    # ------------------------------------------------------------------ freezing and loading
    def freeze(self) -> None:
        """Freeze every parameter whose name contains none of ``trainable`` (VLMo ``run.py``) and log the sets."""
        frozen, kept = [], []
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue  # frozen by the backbone already (e.g. BERT's unused text positions)
            train = any(key in name for key in self.trainable)
            p.requires_grad_(train)
            (kept if train else frozen).append(name)
        if not frozen or not kept:
            raise ValueError(f'trainable={self.trainable} freezes {len(frozen)} and trains {len(kept)} parameters: '
                             'both must be non-empty')
        self.frozen_names = frozen
        n_frozen = sum(p.numel() for n, p in self.named_parameters() if not p.requires_grad)
        n_total = sum(p.numel() for p in self.parameters())
        print_log(f'VLMoPretraining: frozen {len(frozen)} tensors ({n_frozen} of {n_total} weights): '
                  f'{", ".join(summarise_names(frozen))}; trained: {", ".join(summarise_names(kept))}',
                  logger='current', level=logging.INFO)

    def init_weights(self) -> None:
        """Heads as VLMo (truncated normal 0.02), then the ``init_cfg`` checkpoint through the 'vlmo' converter.

        Raises:
            ValueError: Frozen weights (stage 2) without a checkpoint, or a checkpoint that lacks some of them
                (e.g. no vision experts): training would keep them at their random init.
        """
        from beitmm.checkpoint import load_model_checkpoint
        cfg, self.init_cfg = self.init_cfg, None
        try:
            super().init_weights()
        finally:
            self.init_cfg = cfg
        for name in ('itc_text_proj', 'itc_image_proj', 'itc_vl_text_proj', 'itc_vl_image_proj', 'pooler',
                     'itm_score'):
            if hasattr(self, name):
                init_head(getattr(self, name))
        if hasattr(self, 'mlm_score'):
            init_mlm_head(self.mlm_score)
        pretrained = isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'
        if self.trainable and not pretrained:
            raise ValueError('this stage freezes the attention and the vision experts: give it the previous stage\'s '
                             "checkpoint with model.init_cfg=dict(type='Pretrained', checkpoint=...) (a BEiT / "
                             'VLMo stage-1 checkpoint)')
        if pretrained:
            loaded = load_model_checkpoint(self, cfg['checkpoint'])
            lacking = [n for n in getattr(self, 'frozen_names', []) if n not in loaded]
            if lacking:
                raise ValueError(f'{cfg["checkpoint"]} has no weights for {len(lacking)} frozen parameter(s) '
                                 f'({", ".join(summarise_names(lacking)[:6])}): this stage keeps them frozen, so the '
                                 'checkpoint must hold them - pass a BEiT (stage 1) or VLMo checkpoint with the '
                                 'attention and vision experts')
            self._is_init = True

    # ------------------------------------------------------------------ objectives
    def _cls(self, hidden: Tensor, proj: nn.Module) -> Tensor:
        return F.normalize(proj(hidden[:, 0]).float(), dim=-1)  # [B, C]: image cls or text [CLS] (first token)

    def _itc(self, img: Tensor, txt: Tensor, scale: Tensor) -> Dict[str, Tensor]:
        out = contrastive_loss(img, txt, scale, self.gather_grad)  # i2t / t2i: this rank's rows [b, world * b]
        i2t, t2i, labels = out['i2t'].detach(), out['t2i'].detach(), out['labels']
        acc = ((i2t.argmax(1) == labels).float().mean() + (t2i.argmax(1) == labels).float().mean()) * 50
        return dict(loss=out['loss'], acc=acc, i2t=i2t, t2i=t2i, labels=labels)

    def itm_logits(self, images: Tensor, ids: Tensor, padding: Tensor) -> Tensor:
        """ITM logits [B, 2] (no match, match) of pairs through the fusion encoder (pooled text [CLS])."""
        hidden = self.backbone(image=images, text=ids, text_padding_mask=padding)[-1]  # [B, L + 1 + N, C]
        return self.itm_score(self.pooler(hidden[:, self.backbone.text_slice(hidden.shape[1], ids.shape[1]).start]))

    def pair_losses(self, pair: dict) -> Dict[str, Tensor]:
        """Stage-3 objectives on the pair stream: ITC (+ ITC through the VL experts), ITM, fusion MLM."""
        w, out = self.loss_weights, {}
        img, ids, pad = pair['img'], pair['text_ids'], pair['padding_mask']
        if w['itc'] or w['itm']:
            vl_img, dual_img = self.backbone(image=img, vl_branch=True)  # image-only: V-FFN path and VL-FFN path
            vl_txt, dual_txt = self.backbone(text=ids, text_padding_mask=pad, vl_branch=True)
            itc = self._itc(self._cls(dual_img, self.itc_image_proj), self._cls(dual_txt, self.itc_text_proj),
                            self.logit_scale.exp())
            itc_vl = self._itc(self._cls(vl_img, self.itc_vl_image_proj), self._cls(vl_txt, self.itc_vl_text_proj),
                               self.logit_vl_scale.exp())
            if w['itc']:
                out['loss_itc'] = w['itc'] * (itc['loss'] + itc_vl['loss']) / 2
            out.update(itc_acc=itc['acc'], itc_vl_acc=itc_vl['acc'], logit_scale=self.logit_scale.exp().detach(),
                       logit_vl_scale=self.logit_vl_scale.exp().detach())
            if w['itm']:
                loss, logits, target = hard_negative_itm_loss(self.itm_logits, img, ids, pad, itc['i2t'], itc['t2i'],
                                                              itc['labels'], return_logits=True)
                out['loss_itm'] = w['itm'] * loss
                out['itm_acc'] = (logits.detach().argmax(-1) == target).float().mean() * 100
        if w['mlm']:
            hidden = self.backbone(image=img, text=pair['masked_text_ids'], text_padding_mask=pad)[-1]
            text = hidden[:, self.backbone.text_slice(hidden.shape[1], ids.shape[1])]  # [B, L, C]
            loss, acc = mlm_loss(self.mlm_score, text, pair['mlm_labels'], 'pair')
            out['loss_mlm'], out['mlm_acc'] = w['mlm'] * self.mlm_scale * loss, acc
        return out

    def forward(self, image: Optional[dict] = None, text: Optional[dict] = None, pair: Optional[dict] = None,
                mode: str = 'loss') -> Dict[str, Tensor]:
        """The mmengine entry: ``loss`` only.

        Args:
            image: Unused by VLMo (stage 1 is BEiT's own pretraining); must be None.
            text: Text stream for ``textmlm`` (``masked_text_ids``, ``padding_mask``, ``mlm_labels``).
            pair: Pair stream for ``itc`` / ``itm`` / ``mlm`` (``img``, ``text_ids``, masked ids, labels).
            mode: 'loss'.

        Returns:
            ``loss_textmlm`` / ``loss_itc`` / ``loss_itm`` / ``loss_mlm`` with accuracies (percent) and the scales.
        """
        if mode != 'loss':
            raise ValueError(f"VLMoPretraining.forward: mode {mode!r}; pretraining has only 'loss'")
        w = self.loss_weights
        needs = dict(text=bool(w['textmlm']), pair=bool(w['itc'] or w['itm'] or w['mlm']))
        given = dict(text=text is not None, pair=pair is not None)
        if image is not None or any(needs[s] != given[s] for s in needs):
            raise ValueError(f'VLMoPretraining with loss_weights {w} needs the streams '
                             f'{[s for s in needs if needs[s]]}, got {[s for s, v in given.items() if v]}'
                             f'{" and an image stream" if image is not None else ""}: set the loader\'s stream counts')
        out = {}
        if text is not None:
            hidden = self.backbone(text=text['masked_text_ids'], text_padding_mask=text['padding_mask'])[-1]
            loss, acc = mlm_loss(self.mlm_score, hidden, text['mlm_labels'], 'text')
            out['loss_textmlm'], out['textmlm_acc'] = w['textmlm'] * loss, acc
        if pair is not None:
            out.update(self.pair_losses(pair))
        return out
