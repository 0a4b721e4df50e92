from .two_view import TwoViewDataPreprocessor

__all__ = ['TwoViewDataPreprocessor']
