"""Models: shared layers, backbones, visual tokenizers, teachers, targets, necks, heads, losses and algorithms."""
from . import (
               algorithms,
               backbones,
               classifiers,
               data_preprocessors,
               decode_heads,
               electra,
               heads,
               layers,
               losses,
               multimodal,
               necks,
               seq2seq,
               targets,
               teachers,
               the_x,
               tokenizers,
)
from .algorithms import CIM, MaskedImageModeling
from .backbones import BEiT
from .classifiers import LinearProbeClassifier
from .data_preprocessors import TwoViewDataPreprocessor
from .decode_heads import FastUPerHead, LowMemoryFCNHead
from .heads import MIMHead
from .losses import FeatureRegressionLoss, TokenClassificationLoss
from .necks import BEiTV2Neck, LinearProbeNeck
from .teachers import CLIPViT, DINOViT
from .tokenizers import VQKD, DALLETokenizer, KMeansTokenizer

__all__ = [
    'algorithms', 'backbones', 'classifiers', 'data_preprocessors', 'decode_heads', 'heads', 'layers', 'losses',
    'electra', 'necks', 'targets', 'teachers', 'the_x', 'tokenizers', 'multimodal', 'seq2seq', 'BEiT', 'CIM',
    'FastUPerHead',
    'LowMemoryFCNHead',
    'DALLETokenizer', 'KMeansTokenizer', 'MaskedImageModeling', 'MIMHead', 'TokenClassificationLoss',
    'FeatureRegressionLoss', 'TwoViewDataPreprocessor', 'CLIPViT', 'DINOViT', 'VQKD', 'BEiTV2Neck',
    'LinearProbeNeck', 'LinearProbeClassifier'
]
