"""Relative-table geometry: rows, index and VLMo's merged table; the module stays on the ground floor."""
import subprocess
import sys

import pytest
import torch

from beitmm.pos_embed import (
    CROSS_ROWS,
    rel_pos_table_len,
    relative_position_index,
    resize_rel_pos_bias_table,
    resize_vlmo_table,
    vlmo_table_rows,
)

T = 8


@pytest.mark.parametrize('grid', [(1, 1), (2, 2), (3, 5), (14, 14)])
def test_index_uses_every_row_of_the_table_once_or_more(grid):
    index = relative_position_index(grid)
    n = grid[0] * grid[1] + 1
    assert index.shape == (n, n)
    assert sorted(index.unique().tolist()) == list(range(rel_pos_table_len(grid)))  # no row unused, none beyond


def test_index_reads_distances_and_the_three_cls_rows():
    index = relative_position_index((2, 3))  # 3 x 5 distances, then cls -> token, token -> cls, cls -> cls
    assert index[0, 0] == 17 and (index[0, 1:] == 15).all() and (index[1:, 0] == 16).all()
    assert index[1, 1] == index[6, 6] == 1 * 5 + 2  # distance (0, 0) at row (H-1) * (2W-1) + (W-1)
    assert index[1, 6] == (0 - 1 + 1) * 5 + (0 - 2 + 2)  # patch (0, 0) -> patch (1, 2): distance (-1, -2)


def test_vlmo_rows_match_the_official_count():
    assert vlmo_table_rows((14, 14), 196) == 1126 == 27 * 27 + 3 + CROSS_ROWS + 2 * 196  # VLMo base at 224 px


def test_resize_keeps_cross_and_text_rows():
    table = torch.randn(vlmo_table_rows((2, 2), T), 4)
    out = resize_vlmo_table(table, (2, 2), (3, 4))
    assert out.shape == (vlmo_table_rows((3, 4), T), 4)
    assert torch.equal(out[-(2 + 2 * T + 3):], table[-(2 + 2 * T + 3):])  # 3 image cls rows, cross, text
    image = rel_pos_table_len((2, 2))
    torch.testing.assert_close(out[:rel_pos_table_len((3, 4))], resize_rel_pos_bias_table(table[:image], 2, (3, 4)))
    assert resize_vlmo_table(table, (2, 2), (2, 2)) is table
    with pytest.raises(ValueError, match='no image part'):
        resize_vlmo_table(table[:image], (2, 2), (3, 3))


def test_pos_embed_imports_no_other_part_of_beitmm():
    code = ('import sys, beitmm.pos_embed\n'
            'print(sorted(m for m in sys.modules if m.startswith("beitmm") and not m.startswith("beitmm.pos_embed")))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "['beitmm', 'beitmm._compat', 'beitmm.version']"  # _compat: the package's stdlib-only hook
