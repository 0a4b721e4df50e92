"""NLVR2: is a statement true of a pair of images? Two image-text passes, pooled, concatenated, 2-way head."""
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from beitmm.registry import MODELS

from ..heads import Pooler, TwoLayerMLP, init_head, mlp_classifier
from .base import VLBaseModel


@MODELS.register_module()
class NLVR2Classifier(VLBaseModel):
    """Visual reasoning over two images (unilm ``BEiT3ForVisualReasoning``; VLMo's NLVR2 head).

    BEiT-3: both pairs go through the encoder in one batch ``[img_a; img_b]`` with the text repeated; each pair
    gives (image cls, first text token) -> 2C, the two pairs 4C, into ``head`` (``TwoLayerMLP``, init x0.001).
    VLMo: two fusion passes with image token types 1 and 2 (the backbone needs ``num_token_types=3``), the pooled
    text [CLS] of each -> 2C, into ``nlvr2_classifier``.

    Args:
        backbone: ``beitmm.BEiT3`` or ``beitmm.VLMo`` config.
        tokenizer: Text tokenizer config.
        max_text_len: Statement tokens (BEiT-3: 64; VLMo: 40).
        head_init_scale: Multiplier of the head's initial Linear weights (BEiT-3: 0.001; VLMo: 1).
        **kwargs: ``VLBaseModel`` arguments.
    """

    def __init__(self, backbone: dict, tokenizer: dict, max_text_len: int = 64,
                 head_init_scale: Optional[float] = None, **kwargs) -> None:
        super().__init__(backbone, tokenizer, max_text_len, **kwargs)
        C, family = self.embed_dims, self.conventions
        self.two_passes = family.nlvr2_passes == 'token_types'
        self.head_name = family.nlvr2_head
        if self.two_passes:
            if self.backbone.num_token_types < 3:
                raise ValueError('VLMo NLVR2 needs num_token_types=3 in the backbone (token type 2 for the second '
                                 'image; the converter copies row 1 into it)')
            self.pooler = Pooler(C, with_norm=family.pooler_norm)
            self.add_module(self.head_name, mlp_classifier(2 * C, 2 * C, 2))
        else:
            self.add_module(self.head_name, TwoLayerMLP(4 * C, 2 * C, 2))
        self.head_init_scale = family.nlvr2_init_scale if head_init_scale is None else head_init_scale
        self.fresh_heads = (self.head_name, )  # VLMo builds nlvr2_classifier after loading (vlmo_module.py:187-201)

    def init_heads(self) -> None:
        """The head's init (x ``head_init_scale``) and VLMo's pooler (a VLMo start file then fills the pooler)."""
        init_head(getattr(self, self.head_name), self.head_init_scale)
        if self.two_passes:
            init_head(self.pooler)

    def logits(self, images: Tensor, texts: List[str]) -> Tensor:
        """Logits [B, 2] (False, True) of image pairs [B, 2, 3, H, W] and their statements."""
        if images.dim() != 5 or images.shape[1] != 2:
            raise ValueError(f'NLVR2 takes two images per statement [B, 2, 3, H, W], got {tuple(images.shape)}; '
                             "load them with ApplyToList(scatter_key='img_path', ...)")
        ids, pad = self.tokenize(texts)
        B = images.shape[0]
        if self.two_passes:
            pooled = [self.pooler(self.text_cls(self.encode(images[:, k], ids, pad, image_token_type=k + 1)))
                      for k in range(2)]
            return getattr(self, self.head_name)(torch.cat(pooled, dim=-1))
        both = torch.cat([images[:, 0], images[:, 1]])  # [2B, 3, H, W]
        fused = self.encode(both, ids.repeat(2, 1), pad.repeat(2, 1))
        pair = torch.cat([self.image_cls(fused), self.text_cls(fused)], dim=-1)  # [2B, 2C]
        return getattr(self, self.head_name)(torch.cat([pair[:B], pair[B:]], dim=-1))  # [B, 4C] -> [B, 2]

    def forward(self, images: Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        """The mmengine entry: ``loss``, ``predict`` or ``tensor`` (logits)."""
        if mode == 'tensor':
            return self.logits(images, self.texts_of(data_samples, 'text'))
        if mode == 'loss':
            labels = torch.stack([torch.as_tensor(s.gt_label).reshape(-1)[0] for s in data_samples])
            logits = self.logits(images, self.texts_of(data_samples, 'text'))
            return dict(loss=F.cross_entropy(logits.float(), labels.to(logits.device).long()))
        if mode == 'predict':
            return self.predict(images, data_samples)
        return self._forward_unsupported(mode)

    @torch.no_grad()
    def predict(self, images: Tensor, data_samples: List) -> List:
        """Set ``pred_score`` (softmax [2]) and ``pred_label`` (1 = True) for mmpretrain's ``Accuracy``."""
        probs = self.logits(images, self.texts_of(data_samples, 'text')).float().softmax(-1)
        for s, p in zip(data_samples, probs, strict=True):
            s.set_pred_score(p)
            s.set_pred_label(p.argmax())
        return data_samples
