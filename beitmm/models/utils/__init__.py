"""Helpers of several component kinds: gathers across ranks (contrastive / matching losses, retrieval evaluation)."""
from .gather import all_gather_concat, gather_by_id, gather_keep_local, gather_with_grad, world_size

__all__ = ['all_gather_concat', 'gather_by_id', 'gather_keep_local', 'gather_with_grad', 'world_size']
