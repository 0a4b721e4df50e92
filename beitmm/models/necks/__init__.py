"""Necks: BEiT v2's CLS-pretraining branch, the linear-probe feature neck and ViTDet's simple pyramid."""
from .beitv2_neck import BEiTV2Neck
from .linear_probe import LinearProbeNeck
from .simple_fpn import SimpleFPN

__all__ = ['BEiTV2Neck', 'LinearProbeNeck', 'SimpleFPN']
