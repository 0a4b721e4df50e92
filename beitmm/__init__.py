"""beitmm: the whole BEiT family on mmengine, as OpenMMLab components.

Image pretraining (BEiT, BEiT v2, MaskDistill, CIM), vision-language models (BEiT-3, VLMo, VL-BEiT: pretraining,
VQA, NLVR2, retrieval, captioning), text encoders (s2s-ft, ELECTRA with learned replacement sampling) and THE-X
(HE-friendly approximations, with an encrypted runtime in ``beitmm.he``); classification and segmentation
fine-tuning through mmpretrain and mmseg. Importing ``beitmm`` is cheap: the registries load the parts on first use.
"""
from . import _compat
from .version import __version__

_compat.install()

__all__ = ['__version__']
