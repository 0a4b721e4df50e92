"""Backbones: BEiT (vision), BEiT-3, VLMo and VL-BEiT (Multiway: vision, language, vision-language)."""
from .beit import BEiT
from .beit3 import BEiT3
from .bert import BertEncoder  # noqa: F401  registers beitmm.BertEncoder
from .vlmo import VLBEiT, VLMo

__all__ = ['BEiT', 'BEiT3', 'VLMo', 'VLBEiT']
