"""s2s-ft: a bidirectional text encoder fine-tuned for sequence-to-sequence generation (arXiv 2110.13640).

Three algorithms (``algorithm``; s2s-ft's ``--mask_way`` in ``run_seq2seq.py``, models
``BertForSequenceToSequenceWithPseudoMask`` and ``BertForSequenceToSequenceUniLMV1`` in ``s2s_ft/modeling.py``):
``'pseudo-masked'`` (the default, s2s-ft v2: one
pseudo token per target token predicts it), ``'masked'`` (v1: corrupted target tokens predicted in place) and
``'causal'`` (v0: each target token predicts the next). The attention masks are
:func:`beitmm.models.generation.seq2seq_mask` (shared with BEiT-3 captioning); decoding is its
:class:`~beitmm.models.generation.MaskPredictDecoder` + beam / greedy search over a key / value cache.
"""
import dataclasses
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import Tensor

from beitmm.registry import MODELS, TEXT_TOKENIZERS

from ..backbones import check_text_backbone
from ..generation import MaskPredictDecoder, SearchConfig, beam_search, greedy_search, seq2seq_mask
from ..heads import MLMHeadMixin
from .packing import pack, pack_sources
from .s2s_text import DETOKENIZE, ignore_word_ids, piece_ids, s2s_detokenize, token_vocab

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
        min_len: [SEP] is forbidden before this many target tokens (beam search only, as s2s-ft: its greedy path
            is a plain argmax without ``min_len`` and n-gram ban).
        no_repeat_ngram_size: Forbid repeating n-grams of this size (0: off; s2s-ft's ``--forbid_duplicate_ngrams``
            uses 3).
        ngram_ignore_words: Words exempt from the n-gram ban (s2s-ft's ``--forbid_ignore_word``): a sequence or a
            ``|``-joined string such as ``'.|[X_SEP]'``, each word one vocabulary token (see ``s2s_text``).
        source_type_id: Segment id of the source (s2s-ft ``config.source_type_id``; UniLM v1's
            ``--new_segment_ids`` s2s recipe: 4).
        target_type_id: Segment id of target and pseudo tokens (s2s-ft ``config.target_type_id``; UniLM v1: 5).
            Encoders without a token-type table (RoBERTa / XLM-R, ``type_vocab_size=0``) get none, as s2s-ft.
        beam_strategy: ``'slots'``: s2s-ft's beam search (the default); ``'hypotheses'``: BEiT-3 / HF's.
        detokenize: ``'s2s-ft'``: the text ``decode_seq2seq.py`` writes (stop at [SEP], glue ``##``, join with
            spaces, keep [UNK]; the default); ``'hf'``: ``BertTokenizer.decode`` (special tokens skipped, clean-up).
        use_cache: Decode with the key / value cache.
        data_preprocessor: mmengine data preprocessor config.
        init_cfg: mmengine init config.
    """

    def __init__(self, backbone: dict, tokenizer: dict, algorithm: str = 'pseudo-masked', max_source_len: int = 464,
                 max_target_len: int = 48, target_mask_prob: float = 0.5, num_max_mask_token: int = 0,
                 label_smoothing: float = 0.1, num_beams: int = 5, length_penalty: float = 0., min_len: int = 1,
                 no_repeat_ngram_size: int = 3, ngram_ignore_words: Union[str, Sequence[str]] = ('.', ),
                 source_type_id: int = 0, target_type_id: int = 1, beam_strategy: str = 'slots',
                 detokenize: str = 's2s-ft', use_cache: bool = True, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if algorithm not in ALGORITHMS or detokenize not in DETOKENIZE:
            raise ValueError(f's2s-ft algorithm must be one of {ALGORITHMS} (got {algorithm!r}), detokenize one of '
                             f'{DETOKENIZE} (got {detokenize!r})')
        self.backbone = check_text_backbone(MODELS.build(backbone), 'Seq2SeqFinetuner')
        self.tokenizer = TEXT_TOKENIZERS.build(tokenizer)
        words = self.backbone.word_embeddings
        self.tokenizer.check_embedding(words.num_embeddings)
        self.algorithm, self.max_source_len, self.max_target_len = algorithm, max_source_len, max_target_len
        self.target_mask_prob, self.num_max_mask_token = target_mask_prob, num_max_mask_token
        self.label_smoothing, self.use_cache = label_smoothing, use_cache
        self.source_type_id, self.target_type_id, self.detokenize = source_type_id, target_type_id, detokenize
        self.search = SearchConfig(max_len=max_target_len + (algorithm == 'causal'), eos_id=self.tokenizer.eos_id,
                                   pad_id=self.tokenizer.pad_id, num_beams=num_beams, length_penalty=length_penalty,
                                   penalty='gnmt', min_len=min_len, no_repeat_ngram_size=no_repeat_ngram_size,
                                   ngram_ignore_ids=ignore_word_ids(self.tokenizer, ngram_ignore_words),
                                   final_token='keep', strategy=beam_strategy)
        vocab = token_vocab(self.tokenizer)
        self._id_to_token = None if vocab is None else {i: t for t, i in vocab.items()}
        # the head's LayerNorm eps is the encoder's (s2s-ft BertPredictionHeadTransform: config.layer_norm_eps)
        self.build_mlm_head(words, self.tokenizer, eps=self.backbone.mlm_head_eps)

    # ------------------------------------------------------------------ encoder call
    def run(self, ids: Tensor, positions: Tensor, segments: Tensor, attn_mask: Tensor, kv_cache=None) -> Tensor:
        """Hidden states [B, N, C] of packed tokens under ``attn_mask`` (bool [B|1, 1, N, N_keys]).

        Backbones without a token-type table (RoBERTa / XLM-R, BEiT-3, VLMo: ``uses_segments`` False) ignore the
        segments, as s2s-ft (``modeling.py:204``).
        """
        return self.backbone.encode_text(ids, positions, segments, attn_mask, kv_cache=kv_cache)

    # ------------------------------------------------------------------ data
    def _ids(self, sample, key: str) -> List[int]:
        """Ids of ``sample[key]`` without [CLS] / [SEP].

        Its ``<key>_tokens`` one by one (s2s-ft's tokenized format) when present, else its text tokenized.
        """
        pieces = sample.get(f'{key}_tokens')
        if pieces is not None:
            return piece_ids(self.tokenizer, pieces)
        return self.tokenizer.encode_plain(sample.get(key))

    def _tokenize(self, data_samples: Sequence, with_target: bool):
        sources, targets = [], []
        for i, s in enumerate(data_samples):
            src, tgt = s.get('src'), s.get('tgt')
            if not isinstance(src, str):
                raise ValueError(f'sample {i} (line {s.get("line")}) has no source text `src`')
            sources.append([self.tokenizer.cls_id] + self._ids(s, 'src') + [self.tokenizer.sep_id])
            if with_target:
                if not isinstance(tgt, str) or not tgt.strip():
                    raise ValueError(f'sample {i} (line {s.get("line")}) has an empty target `tgt`: a training pair '
                                     'needs at least one target word')
                targets.append(self._ids(s, 'tgt') + [self.tokenizer.eos_id])
        # causal (v0) drops the source's [SEP] afterwards: it keeps [CLS] + src[:max_source_len - 1] as s2s-ft
        # (utils.py:95 in training; decode_seq2seq.py:222-224 with --pos_shift)
        src_limit = self.max_source_len + (self.algorithm == 'causal')
        return self._truncate(sources, src_limit), self._truncate(targets, self.max_target_len)

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
        hidden = self.run(p.ids(), p.positions(), p.segments(self.source_type_id, self.target_type_id),
                          attn)  # [B, S + T (+ T), C]
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
            seg = torch.full_like(ids, self.target_type_id)
            if with_prefix:
                spos = torch.arange(S, device=device)[None].expand(len(rows), -1)
                ids = torch.cat([src[rows], ids], 1)
                tpos = torch.cat([spos, tpos], 1)
                seg = torch.cat([torch.full_like(src[rows], self.source_type_id), seg], 1)
            return self.run(ids, tpos, seg, attn_mask, kv_cache)[:, -positions.numel():]

        causal = self.algorithm == 'causal'
        decoder = MaskPredictDecoder(run, self.cls.predictions, None if causal else self.tokenizer.mask_id, S,
                                     len(sources), self.num_layers(), src_pad,
                                     use_cache=self.use_cache if use_cache is None else use_cache, device=device)
        start = torch.full((len(sources), int(causal)), self.tokenizer.sep_id, dtype=torch.long, device=device)
        cfg = self.search if num_beams is None else dataclasses.replace(self.search, num_beams=num_beams)
        if cfg.num_beams == 1:  # s2s-ft's greedy path: a plain argmax (modeling_decoding.py:1146-1233)
            return greedy_search(decoder, start, dataclasses.replace(cfg, min_len=0, no_repeat_ngram_size=0))
        return beam_search(decoder, start, cfg)

    def num_layers(self) -> int:
        """Attention layers of the backbone (size of the key / value cache)."""
        return self.backbone.num_layers

    def decode_text(self, tokens: Tensor) -> List[str]:
        """Texts of generated rows [B, L] (initial tokens first), by ``detokenize``."""
        tokens = tokens[:, int(self.algorithm == 'causal'):].cpu()  # without the causal start [SEP]
        if self.detokenize == 'hf':
            return self.tokenizer.decode_batch(tokens, skip_special_tokens=True)
        return [s2s_detokenize(self.tokenizer, row.tolist(), self._id_to_token) for row in tokens]

    def predict(self, data_samples: Sequence) -> List[DataSample]:
        """Set ``pred_text`` on each sample (``detokenize``)."""
        sources, _ = self._tokenize(data_samples, with_target=False)
        texts = self.decode_text(self.generate(sources).tokens)
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
