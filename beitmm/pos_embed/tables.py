"""Relative position bias tables: their rows and index for a patch grid, and VLMo's merged table.

BEiT's table (microsoft/unilm ``beit/modeling_finetune.py`` ``RelativePositionBias``) has one row per 2-d distance
between patches, (2Hp-1)(2Wp-1), then 3 rows for the cls token: cls -> token, token -> cls, cls -> cls. VLMo's
merged table (unilm ``vlmo/vlmo/modules/vlmo_module.py``, ``build_relative_position_embed``) is that image part,
2 cross rows (text -> image, image -> text) and ``2 * rel_pos_text_len`` text rows, one column per head and layer.
The models build and read these tables, the checkpoint converters check and resize them: both import the geometry
from here.
"""
from typing import Sequence, Tuple

import torch
from torch import Tensor

from .resize import resize_rel_pos_bias_table

NUM_EXTRA_REL_POS = 3  # cls->token, token->cls, cls->cls rows at the end of every table
CROSS_ROWS = 2  # VLMo: text -> image, image -> text


def rel_pos_table_len(grid: Sequence[int]) -> int:
    """Rows of a relative position bias table for a patch grid (Wh, Ww): (2Wh-1)(2Ww-1) + 3."""
    return (2 * grid[0] - 1) * (2 * grid[1] - 1) + NUM_EXTRA_REL_POS


def relative_position_index(grid: Tuple[int, int]) -> Tensor:
    """Index into a bias table for every (query, key) pair, cls token first.

    Args:
        grid: Patch grid (Wh, Ww).

    Returns:
        Long tensor [Wh*Ww + 1, Wh*Ww + 1] of rows in a table of ``rel_pos_table_len(grid)``.
    """
    wh, ww = grid
    coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing='ij')).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # [N, N, 2]
    rel[:, :, 0] += wh - 1
    rel[:, :, 1] += ww - 1
    num_rel = (2 * wh - 1) * (2 * ww - 1)
    n = wh * ww
    index = torch.empty(n + 1, n + 1, dtype=torch.long)
    index[1:, 1:] = rel[:, :, 0] * (2 * ww - 1) + rel[:, :, 1]
    index[0, 1:] = num_rel  # cls -> token
    index[1:, 0] = num_rel + 1  # token -> cls
    index[0, 0] = num_rel + 2  # cls -> cls
    return index


def vlmo_table_rows(grid: Sequence[int], rel_pos_text_len: int) -> int:
    """Rows of VLMo's merged table: image part, 2 cross rows, ``2 * rel_pos_text_len`` text rows (1126 at 14x14)."""
    return rel_pos_table_len(grid) + CROSS_ROWS + 2 * rel_pos_text_len


def resize_vlmo_table(table: Tensor, src_grid: Sequence[int], dst_grid: Sequence[int]) -> Tensor:
    """Resize the image part of a merged table [rows, heads * layers] geometrically; keep the other rows.

    Args:
        table: The merged table, image part first.
        src_grid: Patch grid (Hp, Wp) the table was learned for.
        dst_grid: Patch grid to resize to.

    Returns:
        [rows', heads * layers] (the input itself when the grids are equal).
    """
    n = rel_pos_table_len(src_grid)
    if table.dim() != 2 or table.shape[0] <= n:
        raise ValueError(f'relative_position_bias_table of shape {tuple(table.shape)} has no image part for a '
                         f'{tuple(src_grid)} grid ({n} rows) followed by cross and text rows')
    if tuple(src_grid) == tuple(dst_grid):
        return table
    return torch.cat([resize_rel_pos_bias_table(table[:n], src_grid, dst_grid), table[n:]], dim=0)
