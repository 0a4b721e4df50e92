"""A bidirectional encoder as a generator: attention masks, key / value cache, incremental decoder, searches.

Shared by BEiT-3 captioning (``beitmm.BEiT3Captioner``) and seq2seq fine-tuning (s2s-ft).
"""
from .beam_search import (
    FORBID,
    Generated,
    IncrementalDecoder,
    SearchConfig,
    beam_search,
    greedy_search,
    ngram_forbid_mask,
)
from .cache import KVCache, LayerKV
from .decoder import MaskPredictDecoder
from .masks import (
    PREFIX,
    PSEUDO,
    TARGET,
    decode_step_mask,
    segment_attention_mask,
    seq2seq_layout,
    seq2seq_mask,
)

__all__ = [
    'FORBID', 'Generated', 'IncrementalDecoder', 'SearchConfig', 'beam_search', 'greedy_search', 'ngram_forbid_mask',
    'KVCache', 'LayerKV', 'MaskPredictDecoder', 'PREFIX', 'PSEUDO', 'TARGET', 'decode_step_mask',
    'segment_attention_mask', 'seq2seq_layout', 'seq2seq_mask'
]
