"""Version of beitmm."""
__version__ = '0.1.0'
