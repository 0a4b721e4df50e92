"""ELECTRA pretraining of a text encoder (Clark et al. 2020) with learned replacement sampling (Hao et al. 2021).

One step: choose ``mask_prob`` (15%) of each text's non-special tokens and replace them by [MASK] (all of them: a
choice, ELECTRA's masking details aside); the generator (a narrower text encoder whose token embedding *is* the
discriminator's) predicts them with the MLM head, trained by the focal loss (γ = 0: plain MLM); the sampler draws a
replacement per masked token without gradient (plain, or re-weighted by the hardness head's predicted
discriminator loss); the discriminator (``backbone``: a ``beitmm.BertEncoder`` or the text branch of a
``beitmm.BEiT3`` / ``beitmm.VLMo``) tells for every token whether it was replaced, "replaced" only where the sample
differs from the original. Loss = ``gen_weight`` · MLM + ``disc_weight`` (50) · RTD (+ the hardness regression).

Logged per step: ``resample_correct`` (share of masked tokens whose sample is the original), ``disc_replaced`` /
``disc_kept`` (the discriminator's BCE on replaced / kept tokens), ``disc_acc`` / ``disc_acc_replaced``,
``hardness_err`` (mean absolute error of the hardness head at the drawn tokens), ``gen_acc``.

The discriminator sits at ``backbone.`` with its head at ``discriminator_predictions.`` (HF ElectraForPreTraining's
names), so HF ELECTRA discriminator checkpoints load by the 'bert' converter, and the pretrained checkpoint
initialises ``beitmm.TextClassifier`` / s2s-ft models like any BERT-family checkpoint (the ``generator*`` keys drop).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModel
from torch import Tensor

from beitmm.registry import MODELS, TEXT_TOKENIZERS

from ..backbones import check_text_backbone
from ..heads import MLMHead, RTDHead, init_mlm_head
from ..losses import masked_mean, rtd_loss
from .text_mlm import encode_texts, select_tokens


@MODELS.register_module()
class ELECTRA(BaseModel):
    """ELECTRA: generator + sampler + replaced-token detection, on the ``src`` texts of the data samples.

    Args:
        backbone: The discriminator: ``beitmm.BertEncoder``, a language ``beitmm.BEiT3`` or a ``beitmm.VLMo``.
        generator: The generator: a narrower ``beitmm.BertEncoder`` (ELECTRA: 1/4 - 1/3 of the width) with
            ``embedding_size`` equal to the discriminator's embedding width and the same ``vocab_size``.
        tokenizer: Text tokenizer config.
        sampler: ``beitmm.ReplacementSampler`` config (``mode='plain'`` / ``'hardness'``).
        generator_loss: Generator loss config, ``beitmm.FocalMLMLoss`` (``gamma=0``: cross-entropy).
        hardness_head: ``beitmm.HardnessHead`` config (``in_channels`` / ``vocab_size`` filled in); built when the
            sampler is hardness-aware (None: the defaults).
        mask_prob: Fraction of the non-special tokens masked (ELECTRA: 0.15), in (0, 1).
        gen_weight: Factor on the generator loss (ELECTRA: 1).
        disc_weight: Factor on the RTD loss (ELECTRA: 50).
        max_len: Tokens per text, special tokens included (longer texts are truncated, counted).
        data_preprocessor: mmengine data preprocessor config.
        init_cfg: mmengine init config.
    """

    def __init__(self, backbone: dict, generator: dict, tokenizer: dict,
                 sampler: Optional[dict] = None, generator_loss: Optional[dict] = None,
                 hardness_head: Optional[dict] = None, mask_prob: float = 0.15, gen_weight: float = 1.0,
                 disc_weight: float = 50.0, max_len: int = 128, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not 0 < mask_prob < 1:
            raise ValueError(f'ELECTRA: mask_prob must be in (0, 1) (ELECTRA: 0.15), got {mask_prob}')
        # the generator first: init_weights runs in this order, so the discriminator's init (or pretrained
        # checkpoint) is the last word on the shared token embedding
        self.generator = check_text_backbone(MODELS.build(generator), 'ELECTRA (generator)')
        self.backbone = check_text_backbone(MODELS.build(backbone), 'ELECTRA (discriminator)')
        self.tokenizer = TEXT_TOKENIZERS.build(tokenizer)
        words, gen_words = self.backbone.word_embeddings, self.generator.word_embeddings
        if gen_words.num_embeddings != words.num_embeddings:
            raise ValueError(f'ELECTRA: the generator vocabulary (generator.vocab_size={gen_words.num_embeddings}) '
                             f'differs from the discriminator\'s (backbone.vocab_size={words.num_embeddings}); the '
                             'token embeddings are tied, set both to the same size')
        if gen_words.embedding_dim != words.embedding_dim:
            raise ValueError(f'ELECTRA: the generator embeds tokens in {gen_words.embedding_dim} dims but the '
                             f'discriminator in {words.embedding_dim}; the token embeddings are tied: set '
                             f'generator.embedding_size={words.embedding_dim}')
        self.tokenizer.check_embedding(words.num_embeddings)
        self.generator.word_embeddings = words  # tied: one parameter
        self.generator_head = MLMHead(words.embedding_dim, words, in_dim=self.generator.embed_dims)
        self.discriminator_predictions = RTDHead(self.backbone.embed_dims)
        self.sampler = MODELS.build(sampler or dict(type='beitmm.ReplacementSampler'))
        self.generator_loss = MODELS.build(generator_loss or dict(type='beitmm.FocalMLMLoss', gamma=0.))
        self.hardness_head = None
        if getattr(self.sampler, 'needs_hardness', False):
            cfg = dict(type='beitmm.HardnessHead', **(hardness_head or {}))
            cfg.update(in_channels=self.generator.embed_dims, vocab_size=words.num_embeddings)
            self.hardness_head = MODELS.build(cfg)
        self.mask_prob, self.gen_weight, self.disc_weight, self.max_len = mask_prob, gen_weight, disc_weight, max_len
        self.register_buffer('_device', torch.zeros(0), persistent=False)

    def init_weights(self) -> None:
        """Generator, then discriminator (or its checkpoint), then BERT's init of the heads."""
        super().init_weights()
        init_mlm_head(self.generator_head)
        self.discriminator_predictions.init_weights()
        if self.hardness_head is not None:
            self.hardness_head.init_weights()

    def _encode(self, data_samples: Sequence) -> Tuple[Tensor, Tensor]:
        """Token ids and padding mask [B, L] of the samples' texts."""
        return encode_texts(self.tokenizer, data_samples, self.max_len, self._device.device, 'ELECTRA')

    def loss(self, data_samples: Sequence) -> Dict[str, Tensor]:
        """Generator, RTD and hardness losses of one batch, with the logged statistics (module docstring)."""
        ids, padding = self._encode(data_samples)
        chosen = select_tokens(ids, padding, self.tokenizer.special_ids.values(), self.mask_prob)  # [B, L]
        segments = torch.zeros_like(ids)
        hidden = self.generator.encode_text(ids.masked_fill(chosen, self.tokenizer.mask_id), segments=segments,
                                            padding=padding)[chosen]  # [M, Cg]
        logits = self.generator_head(hidden)  # [M, V]
        original = ids[chosen]  # [M]
        gen = self.generator_loss(logits, original)
        losses = {'loss_gen': self.gen_weight * next(v for k, v in gen.items() if k.startswith('loss'))}
        if 'mim_acc' in gen:
            losses['gen_acc'] = gen['mim_acc']
        hardness = self.hardness_head(hidden) if self.hardness_head is not None else None  # [M, V]
        sampled, weights = self.sampler(logits, hardness)  # [M], [M] | None
        corrupted = ids.clone()
        corrupted[chosen] = sampled
        replaced = corrupted != ids  # a correct resample is not "replaced"
        token_weights = None
        if weights is not None:
            token_weights = torch.ones(ids.shape, device=ids.device)
            token_weights[chosen] = weights
        d_logits = self.discriminator_predictions(self.backbone.encode_text(corrupted, segments=segments,
                                                                            padding=padding))  # [B, L]
        rtd = rtd_loss(d_logits, replaced, ~padding, token_weights)
        losses['loss_rtd'] = self.disc_weight * rtd['loss']
        if self.hardness_head is not None:
            losses.update(self.hardness_head.loss(hardness, sampled, rtd['per_token'][chosen]))
        losses.update(resample_correct=masked_mean(~replaced, chosen), disc_acc=rtd['acc'],
                      disc_acc_replaced=rtd['acc_replaced'], disc_replaced=rtd['disc_replaced'],
                      disc_kept=rtd['disc_kept'])
        return losses

    def forward(self, inputs=None, data_samples: Optional[List] = None, mode: str = 'loss'):
        """The mmengine entry: ``loss`` (pretraining) or ``tensor`` (the discriminator's hidden states [B, L, C])."""
        if mode == 'loss':
            return self.loss(data_samples)
        if mode == 'tensor':
            ids, padding = self._encode(data_samples)
            return self.backbone.encode_text(ids, segments=torch.zeros_like(ids), padding=padding)
        raise ValueError(f"ELECTRA.forward: mode {mode!r}; use 'loss' or 'tensor'")
