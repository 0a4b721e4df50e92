from .multi_stream import MultiStreamDataPreprocessor
from .two_view import TwoViewDataPreprocessor

__all__ = ['TwoViewDataPreprocessor', 'MultiStreamDataPreprocessor']
