"""Pretraining and distillation objectives: MIM, CIM, masked data modeling, VLMo stages, text MLM, ELECTRA, THE-X."""
from .cim import CIM
from .electra import ELECTRA
from .mdm import MaskedDataModeling
from .mim import MaskedImageModeling
from .replacement_sampler import ReplacementSampler, sample_tokens
from .text_mlm import TextMaskedLM, encode_texts, select_tokens
from .the_x_distill import THEXDistiller, load_student
from .vlmo_pretrain import VLMoPretraining

__all__ = [
    'MaskedImageModeling', 'CIM', 'MaskedDataModeling', 'VLMoPretraining', 'TextMaskedLM', 'ELECTRA', 'THEXDistiller',
    'ReplacementSampler', 'sample_tokens', 'encode_texts', 'select_tokens', 'load_student'
]
