from .cim import CIM
from .mdm import MaskedDataModeling
from .mim import MaskedImageModeling

__all__ = ['MaskedImageModeling', 'CIM', 'MaskedDataModeling']
