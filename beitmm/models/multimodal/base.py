"""The base of every vision-language task model: a Multiway backbone, its text tokenizer and the token layout.

BEiT-3 concatenates ``[image (cls + patches); text]``, VLMo ``[text; image]``: each backbone declares its
``token_order`` (:class:`~beitmm.models.backbones.TextBackbone`), and task models ask this class for "the image cls",
"the first text token" and never index the sequence themselves. Where the two families' official task models differ
(module names, poolers, head init, gathers), the difference is one row of :data:`VL_FAMILIES`, keyed by the
backbone's declared ``family``, so their fine-tuned files load by copy. Texts are tokenized here, from the raw strings
the datasets give (``encode_batch``: special tokens, truncation with a counted warning, padding), so one dataset
config serves both tokenizers.
"""
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModel
from torch import Tensor

from beitmm.checkpoint import load_model_checkpoint
from beitmm.registry import MODELS, TEXT_TOKENIZERS

from ..backbones import check_text_backbone

DEFAULT_PREPROCESSOR = dict(type='mmpretrain.MultiModalDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3,
                            to_rgb=True)  # BEiT-3 / VLMo normalise with 0.5 / 0.5, not CLIP's statistics


@dataclass(frozen=True)
class VLFamily:
    """How one backbone family's official VL task models name, pool and start their parts.

    Attributes:
        pooled_token: The token pair classifiers (VQA, NLVR2, ITM) pool: ``'image'`` cls or ``'text'`` [CLS].
        pooler_norm: The pooler normalises first (``pooler.norm``) or is dense + tanh only.
        pretrained_heads: The family's official start file holds task weights (pooler, projections, ITM head).
        vqa_head: Module name of the VQA classifier.
        nlvr2_head: Module name of the NLVR2 classifier.
        nlvr2_passes: ``'pair_batch'``: both image-text pairs in one batch, (image cls; text cls) each into a
            ``TwoLayerMLP``; ``'token_types'``: one fusion pass per image (image token types 1, 2), the pooled
            [CLS] of each into an MLP classifier.
        nlvr2_init_scale: Multiplier of the NLVR2 head's initial Linear weights.
        retrieval_heads: Module names of the image and text projections of retrieval.
        retrieval_fc: The projections wrap their bias-free Linear as ``.fc`` (``Projection``); else bare Linears.
        gather_grad: Retrieval's contrastive loss gathers features with gradients (see ``losses/contrastive.py``).
        captioning: The family has a captioner (``beitmm.BEiT3Captioner``).
    """

    pooled_token: str
    pooler_norm: bool
    pretrained_heads: bool
    vqa_head: str
    nlvr2_head: str
    nlvr2_passes: str
    nlvr2_init_scale: float
    retrieval_heads: Tuple[str, str]
    retrieval_fc: bool
    gather_grad: bool
    captioning: bool


VL_FAMILIES: Dict[str, VLFamily] = {
    # unilm beit3/modeling_finetune.py (BEiT3ForVQA / ForVisualReasoning / ForRetrieval / ForCaptioning)
    'beit3': VLFamily(pooled_token='image', pooler_norm=True, pretrained_heads=False, vqa_head='head',
                      nlvr2_head='head', nlvr2_passes='pair_batch', nlvr2_init_scale=1e-3,
                      retrieval_heads=('vision_head', 'language_head'), retrieval_fc=False, gather_grad=True,
                      captioning=True),
    # unilm vlmo/modules/vlmo_module.py (also VL-BEiT, which has no code of its own)
    'vlmo': VLFamily(pooled_token='text', pooler_norm=False, pretrained_heads=True, vqa_head='vqa_classifier',
                     nlvr2_head='nlvr2_classifier', nlvr2_passes='token_types', nlvr2_init_scale=1.0,
                     retrieval_heads=('itc_image_proj', 'itc_text_proj'), retrieval_fc=True, gather_grad=False,
                     captioning=False),
}


class Fused(Dict[str, object]):
    """Output of :meth:`VLBaseModel.encode`: ``hidden`` [B, N, C] plus where each part starts."""


class VLBaseModel(BaseModel):
    """Backbone + tokenizer + token layout, shared by the VQA, NLVR2, retrieval and captioning models.

    Args:
        backbone: ``beitmm.BEiT3`` (released or paper layout) or ``beitmm.VLMo`` / ``beitmm.VLBEiT`` config; its
            'raw' output is used.
        tokenizer: Text tokenizer config (``beitmm.SentencePieceTokenizer`` for BEiT-3's ``beit3.spm``,
            ``beitmm.WordPieceTokenizer`` for VLMo's BERT ``vocab.txt``).
        max_text_len: Tokens per text, special tokens included (BEiT-3: 64, captioning 32; VLMo: 40).
        text_truncation: ``'warn'`` (cut with a counted warning), ``'error'`` or ``'silent'``.
        pretrained_heads: The backbone's ``init_cfg=dict(type='Pretrained', checkpoint=...)`` file starts the whole
            model: the task model's weights it holds under their names (VLMo: ``pooler``, ``itc_*_proj``,
            ``logit_scale``, ``itm_score``) are taken too, except the :attr:`fresh_heads` classifiers, as VLMo's
            ``load_pretrained_weight`` (``vlmo_module.py:173,229-336``: strict=False, before the classifiers are
            built). None: the family's official start (VLMo / VL-BEiT yes; BEiT-3 no: the backbone only).
        data_preprocessor: Image normalisation (default: mean = std = 127.5, RGB).
        init_cfg: mmengine init config.
    """

    fresh_heads: Tuple[str, ...] = ()  # task classifiers that always start from their init (see pretrained_heads)

    def __init__(self, backbone: dict, tokenizer: dict, max_text_len: int = 64, text_truncation: str = 'warn',
                 pretrained_heads: Optional[bool] = None, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor or dict(DEFAULT_PREPROCESSOR), init_cfg=init_cfg)
        self.backbone = check_text_backbone(MODELS.build(backbone), type(self).__name__, ('image_first', 'text_first'),
                                            tuple(VL_FAMILIES))
        if self.backbone.out_type != 'raw':
            raise ValueError(f"VL task models read 'raw' tokens, the backbone has out_type={self.backbone.out_type!r}")
        self.conventions = VL_FAMILIES[self.backbone.family]  # module names, poolers, head init of the family
        self.tokenizer = TEXT_TOKENIZERS.build(tokenizer)
        self.tokenizer.check_embedding(self.backbone.vocab_size, f'{type(self.backbone).__name__} text embedding')
        self.max_text_len, self.text_truncation = max_text_len, text_truncation
        self.embed_dims = self.backbone.embed_dims
        default = self.conventions.pretrained_heads
        self.pretrained_heads = default if pretrained_heads is None else bool(pretrained_heads)

    # ------------------------------------------------------------------ initialisation
    def init_heads(self) -> None:
        """Initialise the task heads (subclasses); runs after the backbone's init and before a whole-model start."""

    def init_weights(self) -> None:
        """Backbone init (or its pretrained file), task heads, then with ``pretrained_heads`` the file's task weights.

        With ``pretrained_heads`` the backbone's Pretrained file is read once, through the backbone's converter, into
        the whole model (:func:`beitmm.checkpoint.load_model_checkpoint`); its table says what was taken, what was
        re-initialised (:attr:`fresh_heads`) and what the file lacks (initialised by the model).
        """
        cfg = getattr(self.backbone, 'init_cfg', None)
        whole = (self.pretrained_heads and isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'
                 and cfg.get('prefix') in (None, 'backbone.'))
        if whole:
            self.backbone.init_cfg = None  # random init here; the file fills the whole model below
        try:
            super().init_weights()
        finally:
            self.backbone.init_cfg = cfg
        self.init_heads()
        if whole:
            load_model_checkpoint(self, cfg['checkpoint'], fresh=self.fresh_heads)

    # ------------------------------------------------------------------ text
    def tokenize(self, texts: Sequence[str], max_length: Optional[int] = None) -> Tuple[Tensor, Tensor]:
        """Token ids and padding of raw texts on the model's device.

        Args:
            texts: The texts of the batch.
            max_length: Tokens per text (default ``max_text_len``).

        Returns:
            ``ids`` LongTensor [B, L] and ``padding`` BoolTensor [B, L] (True at padding).
        """
        batch = self.tokenizer.encode_batch(list(texts), max_length or self.max_text_len, self.text_truncation)
        device = self.data_preprocessor.device
        return batch['input_ids'].to(device), batch['padding_mask'].to(device)

    # ------------------------------------------------------------------ encoders
    def encode(self, image: Optional[Tensor] = None, ids: Optional[Tensor] = None,
               padding: Optional[Tensor] = None, **kwargs) -> Fused:
        """Run the backbone on images, texts or pairs.

        Args:
            image: [B, 3, H, W] or None.
            ids: [B, L] or None.
            padding: [B, L] bool (True at padding) or None.
            **kwargs: Backbone arguments (``attn_mask``, ``image_mask``, VLMo's ``image_token_type``,
                ``vl_branch``).

        Returns:
            ``hidden`` [B, N, C] (the backbone's last output), ``image_start`` / ``text_start`` (token index of
            the image cls / the first text token, None when absent) and ``outputs`` (every backbone output).
        """
        outs = self.backbone(image=image, text=ids, text_padding_mask=padding, **kwargs)
        hidden = outs[-1]  # [B, N, C]
        n = hidden.shape[1]
        n_text = n - (0 if image is None else self.num_image_tokens(image))
        starts = dict(image_start=self.backbone.image_slice(n, n_text).start if image is not None else None,
                      text_start=self.backbone.text_slice(n, n_text).start if ids is not None else None)
        return Fused(hidden=hidden, outputs=outs, **starts)

    def num_image_tokens(self, image: Tensor) -> int:
        """Image tokens (cls + patches; partial patches are padded) of images [B, 3, H, W]."""
        p = self.backbone.patch_size
        return 1 + math.ceil(image.shape[-2] / p) * math.ceil(image.shape[-1] / p)

    def image_cls(self, fused: Fused) -> Tensor:
        """The image cls token [B, C] of an encoder output."""
        if fused['image_start'] is None:
            raise ValueError('the input had no image')
        return fused['hidden'][:, fused['image_start']]

    def text_cls(self, fused: Fused) -> Tensor:
        """The first text token ([CLS] / <s>) [B, C] of an encoder output."""
        if fused['text_start'] is None:
            raise ValueError('the input had no text')
        return fused['hidden'][:, fused['text_start']]

    def fusion_cls(self, fused: Fused) -> Tensor:
        """The token a pair classifier pools (the family's ``pooled_token``: BEiT-3 image cls, VLMo text [CLS])."""
        return self.text_cls(fused) if self.conventions.pooled_token == 'text' else self.image_cls(fused)

    # ------------------------------------------------------------------ helpers for subclasses
    @staticmethod
    def texts_of(data_samples: Sequence, key: str) -> List[str]:
        """The raw text field ``key`` of every sample, with an error naming the sample that lacks it."""
        out = []
        for i, s in enumerate(data_samples):
            value = s.get(key) if hasattr(s, 'get') else None
            if not isinstance(value, str):
                raise ValueError(f'data sample {i} has no text field {key!r} (got {type(value).__name__}); pack it '
                                 f"with PackInputs(algorithm_keys=['{key}', ...])")
            out.append(value)
        return out

    def _forward_unsupported(self, mode: str):
        raise ValueError(f'{type(self).__name__}.forward: mode {mode!r} is not one of loss / predict / tensor')

    def truncated_texts(self) -> int:
        """Texts truncated to ``max_text_len`` so far (also logged as warnings)."""
        return self.tokenizer.num_truncated_total


def dense_soft_targets(labels: Sequence[Sequence[int]], scores: Sequence[Sequence[float]], num_labels: int,
                       device: torch.device) -> Tensor:
    """Soft VQA targets [B, num_labels] from per-sample label ids and their scores (0 elsewhere)."""
    out = torch.zeros(len(labels), num_labels, device=device)
    for i, (lab, sc) in enumerate(zip(labels, scores, strict=True)):
        if len(lab):
            out[i, torch.as_tensor(list(lab), device=device, dtype=torch.long)] = torch.as_tensor(
                list(sc), device=device, dtype=torch.float)
    return out
