"""s2s-ft: a bidirectional text encoder fine-tuned for sequence-to-sequence generation (arXiv 2110.13640).

Three algorithms (``algorithm``; language-and-privacy.md §1.3): ``'pseudo-masked'`` (the default, s2s-ft v2: one
pseudo token per target token predicts it), ``'masked'`` (v1: corrupted target tokens predicted in place) and
``'causal'`` (v0: each target token predicts the next). The attention masks are
:func:`beitmm.models.generation.seq2seq_mask` (shared with BEiT-3 captioning); decoding is its
:class:`~beitmm.models.generation.MaskPredictDecoder` + beam / greedy search over a key / value cache.
"""
import dataclasses
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import Tensor

from beitmm.registry import MODELS, TEXT_TOKENIZERS

from ..generation import MaskPredictDecoder, SearchConfig, beam_search, greedy_search, seq2seq_mask
from .head import MLMHeadMixin
from .packing import pack, pack_sources
from .text_encoder import run_text, word_embeddings

ALGORITHMS = ('pseudo-masked', 'masked', 'causal')


def s2s_smoothed_loss(logits: Tensor, labels: Tensor, eps: float, pad_id: int) -> Tensor:
    """s2s-ft's ``LabelSmoothingLoss``: KL to (1 - eps) on the label, eps / (V - 2) elsewhere, 0 on [PAD].

    (BEiT-3 captioning spreads eps over V - 1 without a pad column: a different official loss.)

    Args:
        logits: [M, V] at the predicted positions.
        labels: [M].
        eps: Label smoothing.
        pad_id: The padding id (its column gets no mass).

    Returns:
        Sum over the positions divided by their number (+1e-5, as s2s-ft).
    """
    logp = F.log_softmax(logits.float(), dim=-1)
    V = logp.shape[1]
    target = torch.full_like(logp, eps / (V - 2))
    target[:, pad_id] = 0
    target.scatter_(1, labels[:, None], 1 - eps)
    loss = F.kl_div(logp, target, reduction='none').sum()
    return loss / (labels.numel() + 1e-5)


@MODELS.register_module()
class Seq2SeqFinetuner(MLMHeadMixin, BaseModel):
    """s2s-ft fine-tuning and decoding of a bidirectional text encoder.

    Args:
        backbone: ``beitmm.BertEncoder`` (BERT / RoBERTa / XLM-R / ELECTRA / UniLM / MiniLM files) or a
            language-only ``beitmm.BEiT3`` (``modalities=('language', )``; BEiT-3 / VLMo text branch) config.
        tokenizer: Text tokenizer config (WordPiece ``vocab.txt`` or SentencePiece).
        algorithm: ``'pseudo-masked'`` | ``'masked'`` | ``'causal'``.
        max_source_len: Source tokens with [CLS] / [SEP] (longer sources are truncated, counted).
        max_target_len: Target tokens with the final [SEP].
        target_mask_prob: See :func:`~.packing.pack` (s2s-ft default 0.5; issue #581: it acts as word drop).
        num_max_mask_token: ``'masked'``: cap on corrupted target tokens (s2s-ft needs it > 0; 0: no cap).
        label_smoothing: 0.1 (s2s-ft's default).
        num_beams: Beams (1: greedy decoding).
        length_penalty: GNMT penalty alpha, ((5 + len) / 6) ** alpha (0: none, s2s-ft's default).
        min_len: [SEP] is forbidden before this many target tokens.
        no_repeat_ngram_size: Forbid repeating n-grams of this size (0: off; s2s-ft's ``--forbid_duplicate_ngrams``
            uses 3).
        ngram_ignore_words: Words exempt from the n-gram ban (s2s-ft's ``--forbid_ignore_word``, e.g. ``('.', )``);
            each must be one token of the vocabulary.
        use_cache: Decode with the key / value cache.
        data_preprocessor: mmengine data preprocessor config.
        init_cfg: mmengine init config.
    """

    def __init__(self, backbone: dict, tokenizer: dict, algorithm: str = 'pseudo-masked', max_source_len: int = 464,
                 max_target_len: int = 48, target_mask_prob: float = 0.5, num_max_mask_token: int = 0,
                 label_smoothing: float = 0.1, num_beams: int = 5, length_penalty: float = 0., min_len: int = 1,
                 no_repeat_ngram_size: int = 3, ngram_ignore_words: Sequence[str] = ('.', ), use_cache: bool = True,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if algorithm not in ALGORITHMS:
            raise ValueError(f's2s-ft algorithm must be one of {ALGORITHMS}, got {algorithm!r}')
        self.backbone = MODELS.build(backbone)
        self.tokenizer = TEXT_TOKENIZERS.build(tokenizer)
        words = word_embeddings(self.backbone)
        self.tokenizer.check_embedding(words.num_embeddings)
        self.algorithm, self.max_source_len, self.max_target_len = algorithm, max_source_len, max_target_len
        self.target_mask_prob, self.num_max_mask_token = target_mask_prob, num_max_mask_token
        self.label_smoothing, self.use_cache = label_smoothing, use_cache
        self.search = SearchConfig(max_len=max_target_len + (algorithm == 'causal'), eos_id=self.tokenizer.eos_id,
                                   pad_id=self.tokenizer.pad_id, num_beams=num_beams, length_penalty=length_penalty,
                                   penalty='gnmt', min_len=min_len, no_repeat_ngram_size=no_repeat_ngram_size,
                                   ngram_ignore_ids=tuple(self._word_id(w) for w in ngram_ignore_words),
                                   final_token='keep')
        self.build_mlm_head(words, self.tokenizer)

    def _word_id(self, word: str) -> int:
        ids = self.tokenizer.encode_plain(word)
        if len(ids) != 1 or ids[0] == self.tokenizer.unk_id:
            raise ValueError(f'ngram_ignore_words: {word!r} is not one token of {self.tokenizer.vocab_file} '
                             f'(pieces {self.tokenizer.tokenize(word)}); give words of the vocabulary')
        return ids[0]

    # ------------------------------------------------------------------ encoder call
    def run(self, ids: Tensor, positions: Tensor, segments: Tensor, attn_mask: Tensor, kv_cache=None) -> Tensor:
        """Hidden states [B, N, C] of packed tokens under ``attn_mask`` (bool [B|1, 1, N, N_keys])."""
        return run_text(self.backbone, ids, positions, segments, attn_mask, kv_cache=kv_cache)

    # ------------------------------------------------------------------ data
    def _tokenize(self, data_samples: Sequence, with_target: bool):
        sources, targets = [], []
        for i, s in enumerate(data_samples):
            src, tgt = s.get('src'), s.get('tgt')
            if not isinstance(src, str):
                raise ValueError(f'sample {i} (line {s.get("line")}) has no source text `src`')
            sources.append(self.tokenizer.encode(src))
            if with_target:
                if not isinstance(tgt, str) or not tgt.strip():
                    raise ValueError(f'sample {i} (line {s.get("line")}) has an empty target `tgt`: a training pair '
                                     'needs at least one target word')
                targets.append(self.tokenizer.encode_plain(tgt) + [self.tokenizer.eos_id])
        return self._truncate(sources, self.max_source_len), self._truncate(targets, self.max_target_len)

    def _truncate(self, seqs: List[List[int]], limit: int) -> List[List[int]]:
        """Cut to ``limit`` keeping the last id ([SEP]); counted and logged by the tokenizer."""
        cut = [s if len(s) <= limit else s[:limit - 1] + s[-1:] for s in seqs]
        self.tokenizer._count_truncated(sum(len(s) > limit for s in seqs), len(seqs), limit, 'warn')
        return cut

    # ------------------------------------------------------------------ training
    def loss(self, data_samples: Sequence) -> Dict[str, Tensor]:
        """Label-smoothed loss at the predicted positions, and their token accuracy."""
        sources, targets = self._tokenize(data_samples, with_target=True)
        device = self.random_ids.device
        p = pack(sources, targets, self.algorithm, self.tokenizer.mask_id, self.tokenizer.pad_id,
                 self.tokenizer.sep_id, self.random_ids, self.target_mask_prob, self.num_max_mask_token,
                 device=device)
        S, T = p.source.shape[1], p.target.shape[1]
        attn = seq2seq_mask(S, T, p.source_padding, p.target_padding, pseudo=p.pseudo is not None)
        hidden = self.run(p.ids(), p.positions(), p.segments(), attn)  # [B, S + T (+ T), C]
        at = hidden[:, S + T:] if p.pseudo is not None else hidden[:, S:S + T]  # where the labels are read
        logits = self.cls.predictions(at[p.predict])  # [M, V]
        labels = p.labels[p.predict]
        loss = s2s_smoothed_loss(logits, labels, self.label_smoothing, self.tokenizer.pad_id)
        return dict(loss=loss, acc=(logits.detach().argmax(-1) == labels).float().mean())

    # ------------------------------------------------------------------ decoding
    @torch.no_grad()
    def generate(self, sources: List[List[int]], num_beams: Optional[int] = None, use_cache: Optional[bool] = None):
        """Decode target ids for tokenized sources (``[CLS] src [SEP]``); returns ``Generated``."""
        device = self.random_ids.device
        # only the source segment: no target corruption, no random draws while decoding
        src, src_pad = pack_sources(sources, self.algorithm, self.tokenizer.sep_id, self.tokenizer.pad_id, device)
        n_src = (~src_pad).sum(1)  # [B] real source tokens
        S = src.shape[1]

        def run(rows, with_prefix, ids, positions, attn_mask, kv_cache):
            tpos = n_src[rows, None] + positions[None]  # [R, n]
            seg = torch.ones_like(ids)
            if with_prefix:
                spos = torch.arange(S, device=device)[None].expand(len(rows), -1)
                ids = torch.cat([src[rows], ids], 1)
                tpos, seg = torch.cat([spos, tpos], 1), torch.cat([torch.zeros_like(src[rows]), seg], 1)
            return self.run(ids, tpos, seg, attn_mask, kv_cache)[:, -positions.numel():]

        causal = self.algorithm == 'causal'
        decoder = MaskPredictDecoder(run, self.cls.predictions, None if causal else self.tokenizer.mask_id, S,
                                     len(sources), self.num_layers(), src_pad,
                                     use_cache=self.use_cache if use_cache is None else use_cache, device=device)
        start = torch.full((len(sources), int(causal)), self.tokenizer.sep_id, dtype=torch.long, device=device)
        cfg = self.search if num_beams is None else dataclasses.replace(self.search, num_beams=num_beams)
        return (greedy_search if cfg.num_beams == 1 else beam_search)(decoder, start, cfg)

    def num_layers(self) -> int:
        """Attention layers of the backbone (size of the key / value cache)."""
        return self.backbone.num_layers

    def predict(self, data_samples: Sequence) -> List[DataSample]:
        """Set ``pred_text`` on each sample (special tokens skipped)."""
        sources, _ = self._tokenize(data_samples, with_target=False)
        out = self.generate(sources)
        texts = self.tokenizer.decode_batch(out.tokens.cpu(), skip_special_tokens=True)
        for s, text in zip(data_samples, texts, strict=True):
            s.set_field(text, 'pred_text', field_type='metainfo')
        return list(data_samples)

    def forward(self, inputs=None, data_samples: Optional[List] = None, mode: str = 'tensor'):
        """The mmengine entry: ``loss``, ``predict`` (``pred_text``) or ``tensor`` (generated ids)."""
        if mode == 'loss':
            return self.loss(data_samples)
        if mode == 'predict':
            return self.predict(data_samples)
        if mode == 'tensor':
            return self.generate(self._tokenize(data_samples, with_target=False)[0]).tokens
        raise ValueError(f'Seq2SeqFinetuner.forward: mode {mode!r} is not one of loss / predict / tensor')
