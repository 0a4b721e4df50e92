"""Heads: masked image / language modeling, CIM's enhancers, ELECTRA's RTD and hardness heads, VL task heads."""
from .cim_heads import CIMResPixHead, CIMRevDetHead, sliding_window_normalize, to_featmap, window_stats
from .hardness_head import HardnessHead
from .mim_head import MIMHead
from .mlm_head import MLMHead, MLMHeadMixin, init_mlm_head
from .rtd_head import RTDHead
from .vl_heads import Pooler, Projection, TwoLayerMLP, init_head, mlp_classifier

__all__ = [
    'MIMHead', 'CIMResPixHead', 'CIMRevDetHead', 'sliding_window_normalize', 'to_featmap', 'window_stats',
    'HardnessHead', 'MLMHead', 'MLMHeadMixin', 'init_mlm_head', 'RTDHead', 'Pooler', 'Projection', 'TwoLayerMLP',
    'init_head', 'mlp_classifier'
]
