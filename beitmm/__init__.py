"""beitmm: the whole BEiT family on mmengine, as OpenMMLab components.

Image pretraining (BEiT, BEiT v2, MaskDistill, CIM), vision-language models (BEiT-3, VLMo, VL-BEiT: pretraining,
VQA, NLVR2, retrieval, captioning), text encoders (s2s-ft, ELECTRA with learned replacement sampling) and THE-X
(HE-friendly approximations, with an encrypted runtime in ``beitmm.he``); classification and segmentation
fine-tuning through mmpretrain and mmseg. Importing ``beitmm`` is cheap: the registries load the parts on first use.
"""
from . import _compat
from .version import __version__

_compat.install()

# public names served from the top level on first access (importing them imports torch and the models)
_LAZY = {'build_zero_shot_classifier': 'beitmm.models.classifiers', 'ZeroShotClassifier': 'beitmm.models.classifiers'}
_LAZY.update(list_models='beitmm.apis.model_zoo', get_model='beitmm.apis.model_zoo')  # the model zoo
_LAZY.update(GLUEMetric='beitmm.evaluation.metrics', GLUEDataset='beitmm.datasets')  # GLUE-style text tasks

__all__ = ['__version__', *_LAZY]


def __getattr__(name: str):
    """Import a lazily exported name (``beitmm.ZeroShotClassifier``, ...) from its module on first access."""
    import importlib
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == 'apis':  # beitmm.apis.inference_model without importing beitmm.apis first
        return importlib.import_module('beitmm.apis')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
