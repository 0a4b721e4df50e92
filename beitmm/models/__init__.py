"""Models: backbones, tokenizers, heads, losses, the MIM algorithm and checkpoint utilities."""
from . import algorithms, backbones, data_preprocessors, heads, losses, targets, tokenizers  # noqa: F401
from .algorithms import MaskedImageModeling
from .backbones import BEiT
from .data_preprocessors import TwoViewDataPreprocessor
from .heads import MIMHead
from .losses import FeatureRegressionLoss, TokenClassificationLoss
from .tokenizers import DALLETokenizer

__all__ = [
    'BEiT', 'DALLETokenizer', 'MaskedImageModeling', 'MIMHead', 'TokenClassificationLoss', 'FeatureRegressionLoss',
    'TwoViewDataPreprocessor'
]
