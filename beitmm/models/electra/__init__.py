"""ELECTRA with learned replacement sampling: shared sampler / hardness head / RTD loss (text ELECTRA and CIM)."""
from .electra import ELECTRA
from .hardness import HardnessHead
from .rtd import RTDHead, masked_mean, rtd_loss
from .sampler import ReplacementSampler, sample_tokens

__all__ = ['ELECTRA', 'HardnessHead', 'RTDHead', 'ReplacementSampler', 'masked_mean', 'rtd_loss', 'sample_tokens']
