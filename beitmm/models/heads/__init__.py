from .mim_head import MIMHead

__all__ = ['MIMHead']
