"""Backbones: BEiT (vision), BertEncoder (text), BEiT-3, VLMo and VL-BEiT (Multiway: vision, language, both).

The text-capable ones implement :class:`TextBackbone` (``text_interface.py``): what text and VL task models ask of
them, declared instead of guessed from their attributes.
"""
from .beit import BEiT
from .beit3 import BEiT3
from .beit_args import resolve_arch as resolve_beit_arch
from .bert import BertEncoder
from .text_interface import FAMILIES, TOKEN_ORDERS, TextBackbone, check_text_backbone
from .vlmo import VLBEiT, VLMo

__all__ = ['BEiT', 'BEiT3', 'BertEncoder', 'VLMo', 'VLBEiT', 'resolve_beit_arch', 'TextBackbone',
           'check_text_backbone', 'FAMILIES', 'TOKEN_ORDERS']
