"""THE-X (Chen et al., 2022): HE-friendly approximations, the converter and the distillation model."""
from .approx import THEXAffineNorm, THEXPolyGELU, THEXSoftmax, fit_gelu_poly, softmax_numerator
from .convert import UnknownModuleError, calibrate_norm_std, check_convertible, convert_model
from .distill import THEXDistiller, load_student

__all__ = ['THEXAffineNorm', 'THEXPolyGELU', 'THEXSoftmax', 'fit_gelu_poly', 'softmax_numerator', 'THEXDistiller',
           'load_student', 'UnknownModuleError', 'calibrate_norm_std', 'check_convertible', 'convert_model']
