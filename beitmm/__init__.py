"""beitmm: the BEiT family of masked image modeling on mmengine."""
from .version import __version__

__all__ = ['__version__']
