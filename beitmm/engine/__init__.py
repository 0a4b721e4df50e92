"""Training engine: optimizer constructors, hooks, loops and the Runner builder."""
from .fsdp import FSDPStrategy, fit_fsdp_to_device, wrap_transformer_blocks
from .hooks import AtomicCheckpointHook, AtomicLocalBackend
from .loops import ResumableEpochBasedTrainLoop, ResumableIterBasedTrainLoop
from .optim_wrapper import AmpOptimWrapper
from .optimizers import LayerDecayOptimWrapperConstructor
from .schedulers import CosineAnnealingLR

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'LayerDecayOptimWrapperConstructor', 'ResumableEpochBasedTrainLoop',
    'ResumableIterBasedTrainLoop', 'AmpOptimWrapper', 'CosineAnnealingLR',
    'FSDPStrategy', 'fit_fsdp_to_device', 'wrap_transformer_blocks'
]
