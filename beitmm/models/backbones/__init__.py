from .beit import BEiT

__all__ = ['BEiT']
