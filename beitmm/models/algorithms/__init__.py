from .mim import MaskedImageModeling

__all__ = ['MaskedImageModeling']
