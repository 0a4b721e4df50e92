"""THE-X (Chen et al., 2022): the HE-friendly approximations and the module surgery that installs them.

The distillation model that recovers the accuracy (``beitmm.THEXDistiller``) is an algorithm:
:mod:`beitmm.models.algorithms.the_x_distill`. ``surgery`` swaps modules; weights are converted by
:mod:`beitmm.checkpoint` ("convert" means weights only).
"""
from .approx import THEXAffineNorm, THEXPolyGELU, THEXSoftmax, fit_gelu_poly, softmax_numerator
from .checkpoints import convert_from_config, load_weights, weight_report
from .surgery import UnknownModuleError, calibrate_norm_std, calibrate_student, check_convertible, convert_model

__all__ = ['THEXAffineNorm', 'THEXPolyGELU', 'THEXSoftmax', 'fit_gelu_poly', 'softmax_numerator',
           'UnknownModuleError', 'calibrate_norm_std', 'calibrate_student', 'check_convertible', 'convert_model',
           'convert_from_config', 'load_weights', 'weight_report']
