"""Tests for relative-position-table and absolute pos-embed resizing."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.interpolate import RectBivariateSpline

from beitmm.checkpoint.pos_resize import (_axis_matrix, _geometric_coords,
                                            resize_abs_pos_embed,
                                            resize_rel_pos_bias_table)


def _scipy_reference(table, src, dst, extra=3):
    """Per head RectBivariateSpline(kx=ky=3, s=0) on the geometric grids."""
    sh, sw = 2 * src[0] - 1, 2 * src[1] - 1
    th, tw = 2 * dst[0] - 1, 2 * dst[1] - 1
    nodes_h = _geometric_coords(sh, th).numpy()
    nodes_w = _geometric_coords(sw, tw).numpy()
    eval_h = np.arange(-(th // 2), th // 2 + 1, dtype=np.float64)
    eval_w = np.arange(-(tw // 2), tw // 2 + 1, dtype=np.float64)
    heads = []
    for h in range(table.shape[1]):
        grid = table[:-extra, h].numpy().reshape(sh, sw)
        spline = RectBivariateSpline(nodes_h, nodes_w, grid, kx=3, ky=3, s=0)
        heads.append(spline(eval_h, eval_w).reshape(-1))
    return np.stack(heads, axis=1)


@pytest.mark.parametrize('src, dst', [
    ((14, 14), (32, 32)),
    ((14, 14), (40, 40)),
    ((7, 7), (9, 9)),
    ((4, 6), (5, 8)),
    ((16, 16), (14, 14)),
])
def test_matches_scipy_spline(src, dst):
    torch.manual_seed(0)
    rows = (2 * src[0] - 1) * (2 * src[1] - 1) + 3
    table = torch.randn(rows, 3, dtype=torch.float64)
    out = resize_rel_pos_bias_table(table, src, dst)
    assert out.shape == ((2 * dst[0] - 1) * (2 * dst[1] - 1) + 3, 3)
    ref = _scipy_reference(table, src, dst)
    np.testing.assert_allclose(out[:-3].numpy(), ref, atol=1e-5, rtol=0)
    assert torch.equal(out[-3:], table[-3:])


def test_float32_close_to_scipy():
    torch.manual_seed(1)
    table = torch.randn(13 * 13 + 3, 2)
    out = resize_rel_pos_bias_table(table, 7, 9)
    assert out.dtype == torch.float32
    ref = _scipy_reference(table.double(), (7, 7), (9, 9))
    np.testing.assert_allclose(out[:-3].numpy(), ref, atol=1e-5, rtol=0)


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
    nodes_h = _geometric_coords(9, 15)
    nodes_w = _geometric_coords(11, 17)

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
    assert abs(float(read[13])) < 1e-12 and torch.allclose(read[14], torch.tensor(1.).double())  # BLAS-exact 0 or ~1e-17
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
