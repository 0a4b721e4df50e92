"""Runner hooks."""
from .atomic_checkpoint import ATOMIC_BACKEND, AtomicCheckpointHook, AtomicLocalBackend
from .convert_checkpoint import CheckpointConvertHook

__all__ = ['ATOMIC_BACKEND', 'AtomicCheckpointHook', 'AtomicLocalBackend', 'CheckpointConvertHook']
