"""Masked data modeling: BEiT-3's single pretraining task (and VL-BEiT's), on images, texts and image-text pairs.

BEiT-3 (Wang et al., CVPR 2023) pretrains one Multiway Transformer with one objective: predict masked image patches
(VQ-KD code ids of BEiT v2) and masked text tokens (SentencePiece ids) of monomodal images, monomodal texts and
image-text pairs, each step mixing the three streams. The recipe is from the paper; no official code exists, so the
parts not in the paper are beitmm's choices (marked in the configs). Masking the image of a pair as well as its text
(``pair_mim=True``) is an interpretation: the paper gives 40% of the patches "for images" and 50% of a pair's text.
VL-BEiT (Bao et al., 2022) is the same task on VLMo's backbone (shared attention, VL experts in the top layers), from
scratch in one stage.

Per stream (masking is done by the loader, see ``beitmm.MultiStreamDataPreprocessor`` for the batch format):
image -> MIM on the patch tokens; text -> MLM on the text tokens; pair -> both, predicted jointly through the
shared Multiway layers. One loss per stream (``loss_image``, ``loss_text``, ``loss_pair``), each times its weight,
summed by mmengine; accuracies (percent) are logged beside them.
"""
from typing import Dict, Optional, Tuple

import torch
from mmengine.model import BaseModel
from torch import Tensor

from beitmm.registry import MODELS

from ..backbones import check_text_backbone
from ..heads import MLMHead, init_mlm_head
from ..losses import mlm_loss
from .mim import MaskedImageModeling

STREAM_NAMES = ('image', 'text', 'pair')


def split_pair(backbone, hidden: Tensor, text_len: int) -> Tuple[Tensor, Tensor]:
    """Patch tokens [B, N, C] (cls removed) and text tokens [B, L, C] of a pair's hidden states [B, 1 + N + L, C].

    Where each part sits is the backbone's declared ``token_order`` (BEiT-3 [image; text], VLMo [text; image]).
    """
    n = hidden.shape[1]
    return hidden[:, backbone.image_slice(n, text_len)][:, 1:], hidden[:, backbone.text_slice(n, text_len)]


def patch_mask(backbone, mask: Tensor, img: Tensor, where: str) -> Tensor:
    """The loader's bool mask [B, h, w] checked against the backbone's patch grid and flattened to [B, N]."""
    p = backbone.patch_size
    grid = (-(-img.shape[-2] // p), -(-img.shape[-1] // p))
    if tuple(mask.shape[1:]) != grid and mask[0].numel() != grid[0] * grid[1]:
        raise ValueError(f'the {where} stream mask {tuple(mask.shape[1:])} does not match the {grid} patch grid: '
                         'set the mask generator input_size to image size // patch size')
    mask = mask.flatten(1).to(torch.bool)
    if not bool(mask.any(dim=1).all()):
        raise ValueError(f'a sample of the {where} stream has no masked patch: raise num_masking_patches')
    return mask


@MODELS.register_module()
class MaskedDataModeling(BaseModel):
    """BEiT-3 / VL-BEiT masked data modeling over the image, text and pair streams.

    Args:
        backbone: ``beitmm.BEiT3`` (``use_mask_token=True``, 'raw' output) or ``beitmm.VLBEiT`` / ``beitmm.VLMo``
            (``use_mask_token=True``) config.
        target_generator: Frozen tokenizer config mapping images to code ids [B, h, w] (``beitmm.VQKD`` with
            ``as_tokenizer=True`` and a beitmm or official BEiT v2 checkpoint); run in ``torch.inference_mode``.
        mim_head: ``beitmm.MIMHead`` config (in_channels = width, out_channels = codebook size), shared by the
            image and pair streams (choice).
        stream_weights: Weight of each stream's loss (choice: 1 each).
        pair_mim: Mask and predict the patches the loader masked in the pairs' images too (BEiT-3 and VL-BEiT
            configs: 40%, an interpretation of both papers, see their READMEs); False: the pairs' images are seen
            whole and only their text is predicted.
        data_preprocessor: Default ``beitmm.MultiStreamDataPreprocessor`` (mean = std = 127.5: BEiT-3's
            normalisation, which is also VQ-KD's [-1, 1] input).
        save_target_generator: Keep the frozen tokenizer in checkpoints.
        init_cfg: mmengine init config.
    """

    def __init__(self, backbone: dict, target_generator: dict, mim_head: dict,
                 stream_weights: Optional[Dict[str, float]] = None, pair_mim: bool = True,
                 data_preprocessor: Optional[dict] = None, save_target_generator: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor or dict(type='beitmm.MultiStreamDataPreprocessor'),
                         init_cfg=init_cfg)
        self.backbone = check_text_backbone(MODELS.build(backbone), 'MaskedDataModeling', ('image_first', 'text_first'))
        if not self.backbone.use_mask_token:
            raise ValueError('masked data modeling needs a mask token: set use_mask_token=True in the backbone')
        if self.backbone.out_type != 'raw':
            raise ValueError(f"masked data modeling reads 'raw' tokens, got out_type={self.backbone.out_type!r}")
        self.mim_head = MODELS.build(mim_head)
        words = self.backbone.word_embeddings
        self.mlm_head = MLMHead(words.embedding_dim, words)  # BERT's head, decoder tied to the text embedding
        self.target_generator = MODELS.build(target_generator)
        self.target_generator.requires_grad_(False)  # frozen: never in the optimizer, ignored by DDP
        self.target_generator.eval()
        weights = dict(image=1., text=1., pair=1.)
        unknown = set(stream_weights or {}) - set(weights)
        if unknown:
            raise ValueError(f'stream_weights has unknown streams {sorted(unknown)}; streams are {STREAM_NAMES}')
        weights.update(stream_weights or {})
        self.stream_weights, self.pair_mim = weights, pair_mim
        self.save_target_generator = save_target_generator
        self._register_state_dict_hook(MaskedImageModeling._drop_target_generator)

    def init_weights(self) -> None:
        """Backbone (or its checkpoint) and MIM head as configured, BERT's init of the MLM head's transform."""
        super().init_weights()
        init_mlm_head(self.mlm_head)

    def train(self, mode: bool = True) -> 'MaskedDataModeling':
        """Training mode; the tokenizer always stays in eval mode."""
        super().train(mode)
        self.target_generator.eval()
        return self

    @torch.no_grad()
    def targets(self, view: Tensor) -> Tensor:
        """Code ids [B, N] of the tokenizer's view, computed in inference mode (no autograd bookkeeping)."""
        with torch.inference_mode():
            ids = self.target_generator(view)
        return ids.flatten(1).clone()  # a normal tensor: usable as a cross-entropy target

    def stream_targets(self, image: Optional[dict], pair: Optional[dict]) -> Dict[str, Tensor]:
        """Code ids [B, N] of the image and pair streams; one tokenizer call when their views have one size."""
        streams = {k: s for k, s in (('image', image), ('pair', pair if self.pair_mim else None)) if s is not None}
        views = {k: s.get('target_img', s['img']) for k, s in streams.items()}
        if len({v.shape[1:] for v in views.values()}) == 1 and views:
            codes = self.targets(torch.cat(list(views.values())))  # [B_image + B_pair, N]
            out = dict(zip(views, codes.split([v.shape[0] for v in views.values()]), strict=True))
        else:
            out = {k: self.targets(v) for k, v in views.items()}
        for k, s in streams.items():
            n = s['mask'][0].numel()
            if out[k].shape[1] != n:
                raise ValueError(f'the tokenizer gives {out[k].shape[1]} codes per {k} but the mask has {n} patches: '
                                 "give the tokenizer the student's patch grid (same image size / patch size)")
        return out

    def forward(self, image: Optional[dict] = None, text: Optional[dict] = None, pair: Optional[dict] = None,
                mode: str = 'loss') -> Dict[str, Tensor]:
        """The mmengine entry: ``loss`` only (pretraining).

        Args:
            image: Image stream (``img`` [B, 3, H, W], ``mask`` [B, h, w], optional ``target_img``) or None.
            text: Text stream (``masked_text_ids``, ``padding_mask``, ``mlm_labels`` [B, L]) or None.
            pair: Pair stream (all of the above) or None.
            mode: 'loss'.

        Returns:
            ``loss_<stream>`` (weighted) and accuracies ``acc_image``, ``acc_text``, ``acc_pair_image``,
            ``acc_pair_text``, plus the unweighted pair parts ``pair_mim`` / ``pair_mlm``.
        """
        if mode != 'loss':
            raise ValueError(f"MaskedDataModeling.forward: mode {mode!r}; pretraining has only 'loss'")
        if image is None and text is None and pair is None:
            raise ValueError('MaskedDataModeling got no stream: the loader must give image, text or pair batches')
        codes = self.stream_targets(image, pair)
        out: Dict[str, Tensor] = {}
        if image is not None:
            mask = patch_mask(self.backbone, image['mask'], image['img'], 'image')
            hidden = self.backbone(image=image['img'], image_mask=mask)[-1]  # [B, 1 + N, C]
            res = self.mim_head.loss(hidden[:, 1:], codes['image'], mask)
            out['loss_image'] = res['loss'] * self.stream_weights['image']
            out['acc_image'] = res['mim_acc']
        if text is not None:
            hidden = self.backbone(text=text['masked_text_ids'], text_padding_mask=text['padding_mask'])[-1]
            loss, acc = mlm_loss(self.mlm_head, hidden, text['mlm_labels'], 'text')
            out['loss_text'], out['acc_text'] = loss * self.stream_weights['text'], acc
        if pair is not None:
            mask = patch_mask(self.backbone, pair['mask'], pair['img'], 'pair') if self.pair_mim else None
            ids = pair['masked_text_ids']
            hidden = self.backbone(image=pair['img'], text=ids, text_padding_mask=pair['padding_mask'],
                                   image_mask=mask)[-1]  # [B, 1 + N + L, C]
            patches, words = split_pair(self.backbone, hidden, ids.shape[1])
            loss_text, acc_text = mlm_loss(self.mlm_head, words, pair['mlm_labels'], 'pair')
            loss = loss_text
            out.update(pair_mlm=loss_text.detach(), acc_pair_text=acc_text)
            if self.pair_mim:
                res = self.mim_head.loss(patches, codes['pair'], mask)
                loss = loss + res['loss']
                out.update(pair_mim=res['loss'].detach(), acc_pair_image=res['mim_acc'])
            out['loss_pair'] = loss * self.stream_weights['pair']
        return out
