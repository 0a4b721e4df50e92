from .mim_loss import FeatureRegressionLoss, TokenClassificationLoss

__all__ = ['TokenClassificationLoss', 'FeatureRegressionLoss']
