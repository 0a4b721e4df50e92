from .focal_mlm import FocalMLMLoss, focal_cross_entropy
from .mim_loss import FeatureRegressionLoss, TokenClassificationLoss

__all__ = ['TokenClassificationLoss', 'FeatureRegressionLoss', 'FocalMLMLoss', 'focal_cross_entropy']
