"""Runner hooks."""
from .atomic_checkpoint import ATOMIC_BACKEND, AtomicCheckpointHook, AtomicLocalBackend
from .codebook_health import CodebookHealthHook
from .convert_checkpoint import CheckpointConvertHook
from .data_health import DataHealthHook
from .nan_guard import NonFiniteLossError, NonFiniteLossHook
from .rng_state import ResumeMismatchError, ResumeStateHook

__all__ = ['ATOMIC_BACKEND', 'AtomicCheckpointHook', 'AtomicLocalBackend', 'CheckpointConvertHook',
           'CodebookHealthHook', 'DataHealthHook', 'NonFiniteLossError', 'NonFiniteLossHook', 'ResumeMismatchError',
           'ResumeStateHook']
