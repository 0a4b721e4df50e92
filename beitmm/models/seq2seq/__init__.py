"""Sequence-to-sequence fine-tuning of bidirectional encoders (s2s-ft): packing, the fine-tuner, its detokenizer."""
from .packing import Packed, corrupt, pack, pack_sources
from .s2s_ft import ALGORITHMS, Seq2SeqFinetuner, s2s_smoothed_loss

__all__ = ['Packed', 'corrupt', 'pack', 'pack_sources', 'ALGORITHMS', 'Seq2SeqFinetuner', 's2s_smoothed_loss']
