"""Transformer layers shared by every backbone: BEiT blocks, Multiway / MoME blocks, attention masks, patches.

BEiT's ``Block`` / ``Attention`` (also THE-X's surgery site: ``Attention.softmax``, ``Mlp.act``), BEiT-3's and VLMo's
Multiway blocks (``MagnetoMultiwayBlock``, ``MoMEBlock``) and the helpers every backbone uses.
"""
from .attention_masks import combine_masks, merge_attn_bias, padding_to_attn_mask, to_additive
from .builders import build_activation, build_norm
from .multiway import (
                       MagnetoMultiwayBlock,
                       MoMEBlock,
                       Multiway,
                       MultiwayAttention,
                       Spans,
                       SubLNFeedForward,
                       check_spans,
                       multiway_apply,
)
from .patches import mask_patches, patchify
from .transformer import (
                       INIT_MODES,
                       Attention,
                       Block,
                       Mlp,
                       RelativePositionBias,
                       RelPosTableMixin,
                       drop_path,
                       hooked_softmax_attend,
                       init_blocks,
                       rel_pos_table_len,
                       relative_position_index,
                       rescale_blocks,
                       trunc_normal_init_,
)

__all__ = [
    'combine_masks', 'MagnetoMultiwayBlock', 'MoMEBlock', 'Multiway', 'MultiwayAttention', 'Spans',
    'SubLNFeedForward', 'check_spans', 'multiway_apply', 'merge_attn_bias', 'padding_to_attn_mask', 'to_additive',
    'build_activation', 'build_norm', 'INIT_MODES', 'Attention', 'Block', 'Mlp', 'RelativePositionBias',
    'RelPosTableMixin', 'drop_path', 'hooked_softmax_attend', 'init_blocks', 'mask_patches', 'patchify',
    'rel_pos_table_len', 'relative_position_index', 'rescale_blocks', 'trunc_normal_init_'
]
