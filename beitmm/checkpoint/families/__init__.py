"""One module (or package) per backbone family: its checkpoint layouts and the converter it registers.

Each family registers a :class:`~beitmm.checkpoint.CheckpointConverter` in ``beitmm.registry.CHECKPOINT_CONVERTERS``
under the name its backbones declare as ``checkpoint_converter``: ``'beit'`` (:mod:`.beit`), ``'beit3'``
(:mod:`.beit3`), ``'bert'`` (:mod:`.bert`), ``'vlmo'`` (:mod:`.vlmo`). The registry imports this package the first
time it is asked for a converter. A new family adds a module here and imports it below.
"""
from .beit import BEiTConverter
from .beit3 import BEiT3Converter
from .bert import BertConverter
from .vlmo import VLMoConverter

__all__ = ['BEiTConverter', 'BEiT3Converter', 'BertConverter', 'VLMoConverter']
