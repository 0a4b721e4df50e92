"""THE-X (Chen et al., 2022): HE-friendly approximations, the converter and the distillation model."""
from .approx import THEXAffineNorm, THEXPolyGELU, THEXSoftmax, fit_gelu_poly, softmax_numerator
from .convert import THEXModel, UnknownModuleError, calibrate_norm_std, check_convertible, convert_model

__all__ = ['THEXAffineNorm', 'THEXPolyGELU', 'THEXSoftmax', 'fit_gelu_poly', 'softmax_numerator', 'THEXModel',
           'UnknownModuleError', 'calibrate_norm_std', 'check_convertible', 'convert_model']
