"""High-level API, as in mmseg / mmpretrain: build a model from a config and run it on images."""
from .inference import inference_model, init_model

__all__ = ['init_model', 'inference_model']
