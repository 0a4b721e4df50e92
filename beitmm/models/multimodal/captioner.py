"""BEiT-3 image captioning: the bidirectional encoder fine-tuned as a generator (unilm ``BEiT3ForCaptioning``).

mmpretrain's captioners (BLIP, OFA, ...) decode with a separate text decoder; BEiT-3 has none, so this model
trains and decodes the Multiway encoder itself, s2s-ft style: image tokens see the image, caption tokens see the
image and the caption up to themselves (``beitmm.models.generation.seq2seq_mask``); training predicts masked
caption tokens, decoding is beam search over a per-layer key / value cache feeding ``[previous token, MASK]``.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmpretrain.structures import DataSample
from torch import Tensor, nn

from beitmm.registry import MODELS

from ..generation import Generated, MaskPredictDecoder, SearchConfig, beam_search, greedy_search, seq2seq_mask
from ..heads import init_head
from .base import VLBaseModel

FIRST_RANDOM_ID = 3  # unilm draws random replacement ids from [3, vocab): never <s>, <pad>, </s>


def label_smoothed_loss(logits: Tensor, labels: Tensor, eps: float = 0.1, drop_worst_ratio: float = 0.) -> Tensor:
    """The loss of unilm's ``BertCaptioningLoss``: KL to the smoothed one-hot (eps spread over V - 1), mean over tokens.

    Args:
        logits: [M, V] at the masked positions.
        labels: [M] original ids.
        eps: Label smoothing.
        drop_worst_ratio: Fraction of the largest token losses left out of the mean (0: none).

    Returns:
        The scalar loss.
    """
    logp = F.log_softmax(logits.float(), dim=-1)
    one_hot = torch.zeros_like(logp).scatter_(1, labels.view(-1, 1), 1.)
    target = one_hot * (1 - eps) + (1 - one_hot) * eps / (logp.shape[1] - 1)
    loss = F.kl_div(logp, target, reduction='none').sum(1)  # [M]
    if drop_worst_ratio > 0:
        loss = loss.topk(int(loss.shape[0] * (1 - drop_worst_ratio)), largest=False).values
    return loss.mean()


@MODELS.register_module()
class BEiT3Captioner(VLBaseModel):
    """BEiT-3 captioner (unilm ``BEiT3ForCaptioning``): ``mlm_head`` on the caption tokens of the Multiway encoder.

    Training (``mode='loss'``, samples with ``gt_caption`` str): per caption of n tokens (``<s>`` and ``</s>``
    included) k = min(round(n * mask_prob), n - 1), at least 1, positions drawn from 1..n-1; each becomes [MASK]
    (80%), stays (10%) or a random id in [3, vocab) (10%); label-smoothed KL on those positions only.
    Prediction (``mode='predict'``): beam search with the cache, ``pred_caption`` on each sample. Decoded length:
    ``max_text_len`` in ``val_step`` (validation during training, as unilm's, which decodes with the training
    ``num_max_bpe_tokens``), ``test_max_text_len`` everywhere else (``test_step``: ``tools/test.py``; the inference
    API), as unilm's documented evaluation of the released checkpoints (64 tokens).

    Args:
        backbone: ``beitmm.BEiT3`` config (released layout; unilm captioning: ``normalize_output=True``).
        tokenizer: Text tokenizer config (``beitmm.SentencePieceTokenizer`` with ``beit3.spm``).
        max_text_len: Caption tokens in training (unilm ``num_max_bpe_tokens``: 32); captions decoded in
            validation, ``<s>`` and ``</s>`` included, are at most ``max_text_len - 1`` tokens, as unilm's loop.
        test_max_text_len: ``max_text_len`` of decoding outside validation (None: ``max_text_len``; the
            captioning configs: 64, unilm's evaluation default).
        mask_prob: Fraction of caption tokens masked in training (unilm default 0.6, the recipes 0.7).
        label_smoothing: eps of the loss (0.1).
        drop_worst_ratio: Leave the worst fraction of a batch's token losses out (unilm recipes: 0.2) ...
        drop_worst_after: ... once the training iteration (0-based, the Runner's ``iter``) exceeds this (unilm
            recipes: 12000; its ``global_step > drop_worst_after``).
        num_beams: Beam size (3).
        length_penalty: Beam scores are divided by ``len ** length_penalty`` (0.6).
        use_cache: Decode with the key / value cache (False recomputes the prefix each step: same captions).
        **kwargs: ``VLBaseModel`` arguments (``text_truncation``, ``data_preprocessor``, ``init_cfg``).
    """

    def __init__(self, backbone: dict, tokenizer: dict, max_text_len: int = 32, mask_prob: float = 0.6,
                 label_smoothing: float = 0.1, drop_worst_ratio: float = 0., drop_worst_after: int = 0,
                 num_beams: int = 3, length_penalty: float = 0.6, use_cache: bool = True,
                 test_max_text_len: Optional[int] = None, **kwargs) -> None:
        super().__init__(backbone, tokenizer, max_text_len, **kwargs)
        if not self.conventions.captioning or self.backbone.layout != 'released':
            raise ValueError('BEiT3Captioner needs a released-layout beitmm.BEiT3 backbone (image tokens first)')
        self.test_max_text_len = test_max_text_len or max_text_len
        if not 0 < mask_prob <= 1 or not 0 <= drop_worst_ratio < 1 or min(max_text_len, self.test_max_text_len) < 3:
            raise ValueError(f'mask_prob {mask_prob} must be in (0, 1], drop_worst_ratio {drop_worst_ratio} in '
                             f'[0, 1), max_text_len {max_text_len} and test_max_text_len {test_max_text_len} >= 3')
        self._decode_len: Optional[int] = None  # set during val_step
        self.mask_prob, self.label_smoothing = mask_prob, label_smoothing
        self.drop_worst_ratio, self.drop_worst_after = drop_worst_ratio, drop_worst_after
        self.num_beams, self.length_penalty, self.use_cache = num_beams, length_penalty, use_cache
        self.mlm_head = nn.Linear(self.embed_dims, self.backbone.vocab_size)  # unilm's name: loads by copy
        self._iter = 0  # training steps seen, when no mmengine Runner reports the iteration

    def init_weights(self) -> None:
        """Backbone init (or checkpoint), then unilm's truncated-normal(0.02) init of ``mlm_head``."""
        super().init_weights()
        init_head(self.mlm_head)

    # ------------------------------------------------------------------ training
    def corrupt(self, ids: Tensor, padding: Tensor, generator: Optional[torch.Generator] = None):
        """Corrupt captions as unilm's ``_masking_on_text_tokens``, for a batch.

        Args:
            ids: Caption ids [B, L] (``<s>`` first).
            padding: Bool [B, L], True at padding.
            generator: Random generator (default: torch's global one).

        Returns:
            ``(inputs, masked)``: corrupted ids [B, L] and the bool [B, L] positions to predict.
        """
        n = (~padding).sum(1)  # [B] real tokens
        k = torch.clamp(torch.minimum(torch.floor(n * self.mask_prob + 0.5).long(), n - 1), min=1)  # [B]
        draw = torch.rand(ids.shape, generator=generator, device=ids.device)
        draw[:, 0] = 2.  # never <s>
        draw[padding] = 3.  # never padding
        rank = draw.argsort(1).argsort(1)  # uniform order of the candidate positions 1..n-1
        masked = rank < k[:, None]
        u = torch.rand(ids.shape, generator=generator, device=ids.device)
        rand_ids = torch.randint(FIRST_RANDOM_ID, self.tokenizer.vocab_size, ids.shape, generator=generator,
                                 device=ids.device)
        inputs = torch.where(masked & (u < 0.8), self.tokenizer.mask_id, ids)
        inputs = torch.where(masked & (u >= 0.9), rand_ids, inputs)
        return inputs, masked

    def captions_of(self, data_samples: Sequence) -> List[str]:
        """The ``gt_caption`` strings, with an error naming the sample (image_id) of an empty one."""
        captions = self.texts_of(data_samples, 'gt_caption')
        for i, (s, c) in enumerate(zip(data_samples, captions, strict=True)):
            if not c.strip():
                raise ValueError(f'data sample {i} (image_id {s.get("image_id")}) has an empty gt_caption: drop it '
                                 'from the annotations (a caption needs at least one word)')
        return captions

    def loss(self, images: Tensor, data_samples: Sequence) -> Dict[str, Tensor]:
        """Label-smoothed loss on the masked caption tokens (and their accuracy, logged).

        Args:
            images: [B, 3, H, W].
            data_samples: With ``gt_caption`` (str).

        Returns:
            ``loss`` and ``acc``.
        """
        ids, pad = self.tokenize(self.captions_of(data_samples))
        inputs, masked = self.corrupt(ids, pad)
        logits = self.text_logits(images, inputs, pad)[masked]  # [M, V]
        labels = ids[masked]
        step = MessageHub.get_current_instance().get_info('iter', self._iter)  # the Runner's, else our count
        self._iter += int(self.training)
        drop = self.drop_worst_ratio if step > self.drop_worst_after else 0.
        loss = label_smoothed_loss(logits, labels, self.label_smoothing, drop)
        acc = (logits.detach().argmax(-1) == labels).float().mean()
        return dict(loss=loss, acc=acc)

    def text_logits(self, images: Tensor, ids: Tensor, padding: Optional[Tensor] = None) -> Tensor:
        """Logits [B, L, V] of every caption token under the captioning mask (text sees image + earlier text).

        Args:
            images: [B, 3, H, W].
            ids: Caption ids [B, L].
            padding: Bool [B, L], True at padding.

        Returns:
            The logits at the caption positions.
        """
        attn = seq2seq_mask(self.num_image_tokens(images), ids.shape[1], device=ids.device)  # [1, 1, N, N]
        fused = self.encode(images, ids, padding, attn_mask=attn)
        return self.mlm_head(fused['hidden'][:, fused['text_start']:])

    # ------------------------------------------------------------------ decoding
    def search_config(self, num_beams: Optional[int] = None, max_text_len: Optional[int] = None) -> SearchConfig:
        """Decoding options as unilm's: beams, ``len ** 0.6`` penalty, ``</s>`` or ``max_text_len - 1`` tokens.

        ``max_text_len`` defaults to ``max_text_len`` inside :meth:`val_step`, else ``test_max_text_len``.
        """
        length = max_text_len or self._decode_len or self.test_max_text_len
        return SearchConfig(max_len=length - 1, eos_id=self.tokenizer.eos_id, pad_id=self.tokenizer.pad_id,
                            num_beams=num_beams or self.num_beams, length_penalty=self.length_penalty,
                            penalty='power', final_token='eos')

    def decoder(self, images: Tensor, use_cache: Optional[bool] = None) -> MaskPredictDecoder:
        """The incremental decoder over ``images`` [B, 3, H, W] (one row per image)."""
        backbone = self.backbone

        def run(rows, with_prefix, ids, positions, attn_mask, kv_cache):
            out = backbone(image=images[rows] if with_prefix else None, text=ids, text_positions=positions,
                           attn_mask=attn_mask, kv_cache=kv_cache)[-1]
            return out[:, -ids.shape[1]:]  # [R, n, C]

        return MaskPredictDecoder(run, self.mlm_head, self.tokenizer.mask_id, self.num_image_tokens(images),
                                  images.shape[0], backbone.num_layers,
                                  use_cache=self.use_cache if use_cache is None else use_cache, device=images.device)

    def val_step(self, data) -> list:
        """Validation during training: decode at most ``max_text_len`` tokens (unilm's training-time validation)."""
        self._decode_len = self.max_text_len
        try:
            return super().val_step(data)
        finally:
            self._decode_len = None

    @torch.no_grad()
    def generate(self, images: Tensor, num_beams: Optional[int] = None, use_cache: Optional[bool] = None,
                 greedy: bool = False, max_text_len: Optional[int] = None) -> Generated:
        """Caption ids of images [B, 3, H, W]: beam search (unilm's, also for 1 beam) or greedy decoding.

        Args:
            images: Normalised images.
            num_beams: Beams (default ``num_beams``).
            use_cache: Override ``use_cache``.
            greedy: Greedy decoding instead of beam search.
            max_text_len: Override the decoded length (see :meth:`search_config`).

        Returns:
            ``tokens`` [B, L] (``<s>`` ... ``</s>``), ``lengths`` and ``scores``.
        """
        start = torch.full((images.shape[0], 1), self.tokenizer.bos_id, dtype=torch.long, device=images.device)
        search = greedy_search if greedy else beam_search
        return search(self.decoder(images, use_cache), start, self.search_config(num_beams, max_text_len))

    def predict(self, images: Tensor, data_samples: Optional[List] = None) -> List[DataSample]:
        """Set ``pred_caption`` (decoded with the special tokens skipped) on each sample."""
        out = self.generate(images)
        captions = self.tokenizer.decode_batch(out.tokens.cpu(), skip_special_tokens=True)
        data_samples = data_samples if data_samples is not None else [DataSample() for _ in captions]
        for s, caption in zip(data_samples, captions, strict=True):
            s.set_field(caption, 'pred_caption', field_type='metainfo')
        return data_samples

    def forward(self, images: Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        """The mmengine entry (``images``: mmpretrain's MultiModalDataPreprocessor key).

        ``loss`` (dict), ``predict`` (data samples with ``pred_caption``) or ``tensor`` (generated ids [B, L]).
        """
        if mode == 'loss':
            return self.loss(images, data_samples)
        if mode == 'predict':
            return self.predict(images, data_samples)
        if mode == 'tensor':
            return self.generate(images).tokens
        return self._forward_unsupported(mode)
