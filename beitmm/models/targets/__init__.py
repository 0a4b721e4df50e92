from .pixel import PixelTarget

__all__ = ['PixelTarget']
