"""Position tables: their geometry for a patch grid and their resize to another one (torch only).

Ground floor, beside ``beitmm.checkpoint``: the models (layers, backbones, teachers) use it at run time for inputs of
another size, the checkpoint converters to fit a checkpoint's tables to a model; it imports no other part of beitmm
(the role of timm's ``layers/pos_embed.py`` and ``layers/pos_embed_rel.py``).
"""
from .resize import resize_abs_pos_embed, resize_rel_pos_bias_table
from .tables import (
                     CROSS_ROWS,
                     NUM_EXTRA_REL_POS,
                     rel_pos_table_len,
                     relative_position_index,
                     resize_vlmo_table,
                     vlmo_table_rows,
)

__all__ = [
    'resize_abs_pos_embed', 'resize_rel_pos_bias_table', 'CROSS_ROWS', 'NUM_EXTRA_REL_POS', 'rel_pos_table_len',
    'relative_position_index', 'resize_vlmo_table', 'vlmo_table_rows'
]
