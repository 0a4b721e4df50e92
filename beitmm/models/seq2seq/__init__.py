"""Sequence-to-sequence fine-tuning of bidirectional encoders (s2s-ft): packing, MLM head, the fine-tuner, text MLM."""
from .head import MLMHead
from .packing import Packed, corrupt, pack, pack_sources
from .s2s_ft import ALGORITHMS, Seq2SeqFinetuner, s2s_smoothed_loss
from .text_mlm import TextMaskedLM

__all__ = ['MLMHead', 'Packed', 'corrupt', 'pack', 'pack_sources', 'ALGORITHMS', 'Seq2SeqFinetuner',
           's2s_smoothed_loss', 'TextMaskedLM']
