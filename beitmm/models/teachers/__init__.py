"""Frozen feature teachers (CLIP, DINO) for MaskDistill and the BEiT v2 VQ-KD tokenizer."""
from .clip import CLIPViT
from .common import read_teacher_weights
from .dino import DINOViT

__all__ = ['CLIPViT', 'DINOViT', 'read_teacher_weights']
