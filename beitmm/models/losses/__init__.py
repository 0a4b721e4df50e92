"""Losses: masked image modeling, focal MLM, MLM, replaced-token detection, image-text contrastive and matching."""
from .contrastive import contrastive_loss
from .focal_mlm import FocalMLMLoss, focal_cross_entropy
from .itm import hard_negative_itm_loss, sample_hard_negatives
from .mim_loss import FeatureRegressionLoss, TokenClassificationLoss
from .mlm import mlm_loss
from .rtd import masked_mean, rtd_loss

__all__ = [
    'TokenClassificationLoss', 'FeatureRegressionLoss', 'FocalMLMLoss', 'focal_cross_entropy', 'mlm_loss',
    'masked_mean', 'rtd_loss', 'contrastive_loss', 'hard_negative_itm_loss', 'sample_hard_negatives'
]
