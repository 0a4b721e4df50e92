"""Tests for relative-position-table and absolute pos-embed resizing."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.interpolate import RectBivariateSpline

from beitmm.pos_embed.resize import (
    _axis_matrix,
    _geometric_coords,
    resize_abs_pos_embed,
    resize_rel_pos_bias_table,
)


# --- Independent reference: transcription of microsoft/unilm beit/run_class_finetuning.py ---------------
# (relative_position_bias_table branch of the checkpoint loading).  Written from the official code, not
# from beitmm's helpers: bisection for q on (1.01, 1.5), the ``dis`` / ``x`` / ``y`` node lists and the
# ``dx`` / ``dy`` targets.  unilm then calls ``interpolate.interp2d(x, y, z, kind='cubic')`` and
# ``f(dx, dy)``; SciPy >= 1.14 removed interp2d, whose rectangular-grid path was FITPACK's regrid
# (interpolating, s=0, kx=ky=3) evaluated with bispev, i.e. ``RectBivariateSpline(y, x, z, kx=3, ky=3,
# s=0)(dy, dx)`` (RectBivariateSpline takes the row coordinate first).  unilm is square only; the per-axis
# use below (one bisection per axis) is this test's extension for non-square grids.
def _unilm_nodes(src_size: int, dst_size: int):
    """The unilm source nodes ``x`` and target offsets ``dx`` for a table side ``src_size`` -> ``dst_size``.

    Args:
        src_size: Side of the source table (2 * W_src - 1), unilm's ``src_size``.
        dst_size: Side of the target table (2 * W_dst - 1), unilm's ``dst_size``.

    Returns:
        (x, dx): float64 arrays of the geometric source nodes and the integer target offsets.
    """
    def geometric_progression(a, r, n):
        return a * (1.0 - r ** n) / (1.0 - r)

    left, right = 1.01, 1.5
    while right - left > 1e-6:
        q = (left + right) / 2.0
        gp = geometric_progression(1, q, src_size // 2)
        if gp > dst_size // 2:
            right = q
        else:
            left = q
    dis = []
    cur = 1
    for i in range(src_size // 2):
        dis.append(cur)
        cur += q ** (i + 1)
    r_ids = [-_ for _ in reversed(dis)]
    x = r_ids + [0] + dis
    t = dst_size // 2.0
    dx = np.arange(-t, t + 0.1, 1.0)
    return np.asarray(x, dtype=np.float64), dx


def _unilm_reference(table: torch.Tensor, src, dst, extra: int = 3) -> np.ndarray:
    """The unilm resize of a ``[(2Hs-1)(2Ws-1) + extra, heads]`` table, the extra rows left out.

    Args:
        table: Source table (float64 for the comparison at 1e-12).
        src: Source patch grid (Hs, Ws).
        dst: Target patch grid (Hd, Wd).
        extra: Trailing extra rows (cls rows), copied by unilm and not interpolated.

    Returns:
        ``[(2Hd-1)(2Wd-1), heads]`` float64.
    """
    sh, sw = 2 * src[0] - 1, 2 * src[1] - 1
    th, tw = 2 * dst[0] - 1, 2 * dst[1] - 1
    y, dy = _unilm_nodes(sh, th)
    x, dx = _unilm_nodes(sw, tw)
    heads = []
    for i in range(table.shape[1]):
        z = table[:-extra, i].reshape(sh, sw).numpy()
        f = RectBivariateSpline(y, x, z, kx=3, ky=3, s=0)  # interp2d(x, y, z, kind='cubic')
        heads.append(f(dy, dx).reshape(-1))  # f(dx, dy): [len(dy), len(dx)]
    return np.stack(heads, axis=1)


@pytest.mark.parametrize('src, dst', [
    ((14, 14), (32, 32)),
    ((14, 14), (40, 40)),
    ((14, 14), (16, 16)),
    ((32, 32), (40, 40)),
    ((14, 14), (7, 7)),
    ((16, 16), (14, 14)),
    ((7, 7), (9, 9)),
    ((14, 10), (20, 24)),  # non-square (per-axis extension of unilm's square-only code)
    ((4, 6), (5, 8)),
])
def test_matches_unilm_transcription(src, dst):
    torch.manual_seed(0)
    rows = (2 * src[0] - 1) * (2 * src[1] - 1) + 3
    table = torch.randn(rows, 3, dtype=torch.float64)
    out = resize_rel_pos_bias_table(table, src, dst)
    assert out.shape == ((2 * dst[0] - 1) * (2 * dst[1] - 1) + 3, 3)
    ref = _unilm_reference(table, src, dst)
    # measured: at most 4.0e-15 on all cases (values up to ~4.6), i.e. a few float64 ulps
    assert np.abs(out[:-3].numpy() - ref).max() <= 1e-12
    assert torch.equal(out[-3:], table[-3:])


@pytest.mark.parametrize('side_src, side_dst', [(27, 63), (27, 79), (27, 31), (63, 79), (27, 13), (9, 15)])
def test_geometric_nodes_equal_unilm_nodes(side_src, side_dst):
    x, _ = _unilm_nodes(side_src, side_dst)
    np.testing.assert_array_equal(_geometric_coords(side_src, side_dst).numpy(), x)  # bit-identical


def test_float32_matches_unilm_float32_path():
    # unilm feeds float32 values (``.float().numpy()``) and stores float32 (``torch.Tensor``)
    torch.manual_seed(1)
    table = torch.randn(13 * 13 + 3, 2)
    out = resize_rel_pos_bias_table(table, 7, 9)
    assert out.dtype == torch.float32
    ref = _unilm_reference(table.double(), (7, 7), (9, 9)).astype(np.float32)
    assert np.abs(out[:-3].numpy() - ref).max() <= 1e-6


def test_geometric_grid_reaches_target_range():
    nodes = _geometric_coords(27, 63)  # 14 -> 32 patches
    assert nodes.shape == (27, )
    assert nodes[13] == 0 and nodes[14] == 1
    assert abs(nodes[-1].item() - 31) < 1e-3  # reaches +-m
    assert torch.allclose(nodes, -nodes.flip(0))
    gaps = nodes[14:].diff()
    assert torch.all(gaps[1:] > gaps[:-1])  # geometric growth


def test_bicubic_polynomial_reproduced_exactly():
    # A cubic in each variable lies in the spline space: exact inside the
    # node range.  Like FITPACK's evaluator, points outside it (the target
    # ends overshoot the geometric grid by the bisection tolerance) are
    # clamped to the boundary, so compare at clamped coordinates.
    src, dst = (5, 6), (8, 9)
    nodes_h = torch.from_numpy(_unilm_nodes(9, 15)[0])
    nodes_w = torch.from_numpy(_unilm_nodes(11, 17)[0])

    def poly(y, x):
        return 0.5 + y - 0.2 * x**2 + 0.03 * y**3 * x + 0.01 * x**3 * y**2

    grid = poly(nodes_h[:, None], nodes_w[None, :])  # [9, 11]
    table = torch.cat([grid.reshape(-1, 1), torch.tensor([[1.], [2.], [3.]],
                                                         dtype=torch.float64)])
    out = resize_rel_pos_bias_table(table, src, dst)
    ys = torch.arange(-7, 8, dtype=torch.float64)
    xs = torch.arange(-8, 9, dtype=torch.float64)
    assert (ys[-1] - nodes_h[-1]).abs() < 1e-3  # tiny overshoot only
    ys = ys.clamp(nodes_h[0].item(), nodes_h[-1].item())
    xs = xs.clamp(nodes_w[0].item(), nodes_w[-1].item())
    expected = poly(ys[:, None], xs[None, :]).reshape(-1)
    assert torch.allclose(out[:-3, 0], expected, atol=1e-9, rtol=0)
    assert out[-3:, 0].tolist() == [1., 2., 3.]


def test_identity_and_shrink_is_compressed_crop():
    table = torch.randn(7 * 7 + 3, 2)
    assert resize_rel_pos_bias_table(table, 4, 4) is table
    # 16 -> 14: q collapses to 1.01.  Fill the source with its own row
    # offset index (-15..15) to see which source offset each target reads.
    idx = torch.arange(-15, 16, dtype=torch.float64)
    src = torch.cat([idx[:, None].expand(31, 31).reshape(-1, 1),
                     torch.zeros(3, 1, dtype=torch.float64)])
    out = resize_rel_pos_bias_table(src, 16, 14)[:-3, 0].reshape(27, 27)
    read = out[:, 0]  # source offset read at target offsets -13..13
    assert abs(float(read[13])) < 1e-12  # BLAS-exact 0 or ~1e-17
    assert torch.allclose(read[14], torch.tensor(1.).double())
    assert torch.allclose(read, -read.flip(0), atol=1e-9)
    # target offset m is read at log(1 + 0.01 m) / log(1.01) ~ m - small
    expected = np.log1p(0.01 * 13) / np.log(1.01)
    assert abs(read[-1].item() - expected) < 0.02
    assert 12 < read[-1] < 13  # nearly a central crop, slightly compressed


def test_gradient_flows_and_device_dtype():
    table = torch.randn(7 * 7 + 3, 2, requires_grad=True)
    out = resize_rel_pos_bias_table(table, (4, 4), (6, 5))
    assert out.shape == (11 * 9 + 3, 2) and out.dtype == torch.float32
    out.sum().backward()
    assert table.grad is not None and table.grad.shape == table.shape
    assert torch.all(table.grad[-3:] == 1)  # extra rows copied
    assert table.grad[:-3].abs().sum() > 0


def test_cache_built_in_inference_mode_still_differentiable():
    _axis_matrix.cache_clear()
    with torch.inference_mode():
        resize_rel_pos_bias_table(torch.randn(5 * 9 + 3, 2), (3, 5), (4, 7))
    table = torch.randn(5 * 9 + 3, 2, requires_grad=True)
    resize_rel_pos_bias_table(table, (3, 5), (4, 7)).sum().backward()
    assert table.grad.shape == table.shape


def test_bad_table_length_raises():
    with pytest.raises(ValueError, match=r'does not match a 4x4 grid'):
        resize_rel_pos_bias_table(torch.zeros(50, 2), 4, 6)


def test_abs_pos_embed_bicubic_and_identity():
    pos = torch.randn(1, 1 + 4 * 4, 8)
    assert resize_abs_pos_embed(pos, 4, 4) is pos
    out = resize_abs_pos_embed(pos, (4, 4), (6, 8))
    assert out.shape == (1, 1 + 48, 8)
    assert torch.equal(out[:, :1], pos[:, :1])  # cls token untouched
    grid = pos[:, 1:].reshape(1, 4, 4, 8).permute(0, 3, 1, 2)
    ref = F.interpolate(grid, size=(6, 8), mode='bicubic',
                        align_corners=False).flatten(2).transpose(1, 2)
    assert torch.allclose(out[:, 1:], ref)
    const = torch.ones(1, 1 + 9, 4)
    assert torch.allclose(resize_abs_pos_embed(const, 3, 5), torch.ones(
        1, 26, 4), atol=1e-6)  # constants preserved
    with pytest.raises(ValueError, match='does not match a 5x5 grid'):
        resize_abs_pos_embed(pos, 5, 6)
