"""Resizing of relative-position-bias tables and absolute position embeddings.

The relative-position table is resized with the geometric-sequence method of
BEiT (microsoft/unilm ``beit/semantic_segmentation/mmcv_custom/checkpoint.py``,
also used by mmpretrain and mmseg): the source offsets are placed on a grid
whose spacing grows geometrically away from the centre so that small offsets
keep near-unit spacing while the largest ones reach the target range, and a
bicubic interpolating spline through the source values is evaluated at the
integer target offsets.

The upstream code calls ``scipy.interpolate.interp2d(kind='cubic')``, which
SciPy 1.14 removed.  Here the same spline is computed in torch: FITPACK's
interpolating bicubic spline on a rectangular grid (``s=0``, ``kx=ky=3``) is a
tensor product of 1-D cubic interpolating splines with FITPACK's knot
placement (the "not-a-knot" spline), so the resize is a pair of small linear
maps ``out = My @ grid @ Mx^T`` per head.  The maps depend only on the grid
sizes and are cached.
"""
from functools import lru_cache
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['resize_rel_pos_bias_table', 'resize_abs_pos_embed']

_CPU = torch.device('cpu')


def _geometric_ratio(src_half: int, dst_half: int) -> float:
    """Find the ratio ``q`` with ``1 + q + ... + q^(src_half-1) ~= dst_half``.

    Bisection on (1.01, 1.5) exactly as in the reference implementations.
    When ``dst_half < src_half`` no ``q >= 1`` satisfies the equation and the
    search collapses to ``q ~= 1.01``: the source grid stays nearly
    unit-spaced, so shrinking is a slightly compressed central crop (target
    offset ``m`` reads source offset ``log(1 + 0.01 m) / log(1.01)``, e.g.
    12.3 for 13).

    Args:
        src_half: Largest source offset ``n = W_src - 1``.
        dst_half: Largest target offset ``m = W_dst - 1``.

    Returns:
        float: The ratio q.
    """
    left, right = 1.01, 1.5
    q = (left + right) / 2.0
    while right - left > 1e-6:
        q = (left + right) / 2.0
        series = (1.0 - q**src_half) / (1.0 - q)  # geometric sum, n terms
        if series > dst_half:
            right = q
        else:
            left = q
    return q


def _geometric_coords(src_side: int, dst_side: int) -> Tensor:
    """Source offsets on the geometric grid, ``[src_side]`` float64."""
    src_half, dst_half = src_side // 2, dst_side // 2
    q = _geometric_ratio(src_half, dst_half)
    dis, cur = [], 1.0
    for i in range(src_half):
        dis.append(cur)
        cur += q**(i + 1)
    coords = [-d for d in reversed(dis)] + [0.0] + dis
    return torch.tensor(coords, dtype=torch.float64)


def _bspline_basis(x: Tensor, knots: Tensor, degree: int,
                   num_coef: int) -> Tensor:
    """Evaluate all B-spline basis functions at ``x``.

    Points outside the knot range are clamped to it, like FITPACK's
    evaluation routines do.

    Args:
        x: Evaluation points, ``[P]`` float64.
        knots: Non-decreasing knot vector, ``[num_coef+degree+1]``.
        degree: Spline degree k.
        num_coef: Number of basis functions.

    Returns:
        Tensor: Basis matrix ``[P, num_coef]``.
    """
    x = x.clamp(knots[degree].item(), knots[num_coef].item())
    # knot span index i with knots[i] <= x < knots[i+1], k <= i <= num_coef-1
    span = torch.searchsorted(knots, x, right=True) - 1
    span = span.clamp(degree, num_coef - 1)
    num_pts = x.numel()
    basis = torch.zeros(num_pts, degree + 1, dtype=torch.float64)
    basis[:, 0] = 1.0
    left = torch.zeros(num_pts, degree + 1, dtype=torch.float64)
    right = torch.zeros(num_pts, degree + 1, dtype=torch.float64)
    for j in range(1, degree + 1):  # Cox-de Boor triangle
        left[:, j] = x - knots[span + 1 - j]
        right[:, j] = knots[span + j] - x
        saved = torch.zeros(num_pts, dtype=torch.float64)
        for r in range(j):
            temp = basis[:, r] / (right[:, r + 1] + left[:, j - r])
            basis[:, r] = saved + right[:, r + 1] * temp
            saved = left[:, j - r] * temp
        basis[:, j] = saved
    out = torch.zeros(num_pts, num_coef, dtype=torch.float64)
    cols = span[:, None] - degree + torch.arange(degree + 1)[None]  # [P, k+1]
    out.scatter_(1, cols, basis)
    return out


def _interp_matrix(nodes: Tensor, targets: Tensor) -> Tensor:
    """Linear map from values at ``nodes`` to the spline at ``targets``.

    The spline is FITPACK's interpolating spline (``s=0``) of degree
    ``k = min(3, len(nodes) - 1)``: boundary knots of multiplicity k+1 and
    interior knots ``nodes[2:-2]`` for cubics, i.e. the not-a-knot spline.

    Args:
        nodes: Strictly increasing data sites, ``[s]`` float64.
        targets: Evaluation points, ``[t]`` float64.

    Returns:
        Tensor: Matrix ``M`` of shape ``[t, s]`` with ``f(targets) = M @ f``.
    """
    num = nodes.numel()
    degree = min(3, num - 1)
    if degree == 0:
        return torch.ones(targets.numel(), 1, dtype=torch.float64)
    interior = nodes[2:-2] if degree == 3 else nodes[:0]
    knots = torch.cat([
        nodes[:1].repeat(degree + 1), interior, nodes[-1:].repeat(degree + 1)
    ])
    colloc = _bspline_basis(nodes, knots, degree, num)  # [s, s]
    evals = _bspline_basis(targets, knots, degree, num)  # [t, s]
    # M = evals @ colloc^-1  <=>  colloc^T @ M^T = evals^T
    return torch.linalg.solve(colloc.T, evals.T).T


@lru_cache(maxsize=128)
def _axis_matrix(src_side: int, dst_side: int,
                 device: torch.device = _CPU) -> Tensor:
    """Cached ``[dst_side, src_side]`` float64 resize matrix for one axis.

    Built outside inference mode so that a first call under
    ``torch.inference_mode()`` does not cache a tensor autograd rejects.
    """
    with torch.inference_mode(False), torch.no_grad():
        if device.type != 'cpu':
            return _axis_matrix(src_side, dst_side).to(device)
        nodes = _geometric_coords(src_side, dst_side)
        half = dst_side // 2
        targets = torch.arange(-half, half + 1, dtype=torch.float64)
        return _interp_matrix(nodes, targets)


def _pair(size: Sequence[int] | int) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if len(size) != 2:
        raise ValueError(f'expected a (height, width) grid, got {size!r}')
    return int(size[0]), int(size[1])


def resize_rel_pos_bias_table(table: Tensor,
                              src_size: Sequence[int] | int,
                              dst_size: Sequence[int] | int,
                              num_extra_tokens: int = 3) -> Tensor:
    """Resize a BEiT relative-position-bias table to a new patch grid.

    Per axis, the source offsets ``-n..n`` (``n = W_src - 1``) are moved to a
    geometric grid reaching ``+-m`` (``m = W_dst - 1``); the table is
    interpolated there with the bicubic interpolating spline that
    ``scipy.interpolate.RectBivariateSpline(kx=3, ky=3, s=0)`` (and the
    removed ``interp2d(kind='cubic')``) compute, and evaluated at the integer
    offsets ``-m..m``.  Non-square grids are supported: the ratio is found
    separately per axis.  When shrinking (``W_dst < W_src``) the reference
    bisection collapses to ``q = 1.01`` and the result is a slightly
    compressed central crop of the source offsets (target offset 13 reads
    source offset ~12.3); this reference behaviour is kept on purpose.
    Like FITPACK's evaluator, target offsets that overshoot the geometric
    grid by the bisection tolerance are clamped to its ends.

    Args:
        table: ``[(2*Hs-1)*(2*Ws-1) + num_extra_tokens, heads]``.
            The extra rows (cls->token, token->cls, cls->cls) are the last
            rows and are copied unchanged.
        src_size: Source patch grid ``(Hs, Ws)``.
        dst_size: Target patch grid ``(Hd, Wd)``.
        num_extra_tokens: Number of trailing extra rows. Defaults to 3.

    Returns:
        Tensor: ``[(2*Hd-1)*(2*Wd-1) + num_extra_tokens, heads]`` in the
        input's dtype and device, differentiable w.r.t. ``table``.  The input
        itself is returned when the grids are equal.
    """
    (src_h, src_w), (dst_h, dst_w) = _pair(src_size), _pair(dst_size)
    if min(src_h, src_w, dst_h, dst_w) < 1:
        raise ValueError(f'grid sizes must be positive, got {src_size} -> '
                         f'{dst_size}')
    sh, sw, th, tw = 2 * src_h - 1, 2 * src_w - 1, 2 * dst_h - 1, 2 * dst_w - 1
    expected = sh * sw + num_extra_tokens
    if table.dim() != 2 or table.shape[0] != expected:
        raise ValueError(
            f'relative position table of shape {tuple(table.shape)} does not '
            f'match a {src_h}x{src_w} grid: expected [{expected}, heads] = '
            f'(2*{src_h}-1)*(2*{src_w}-1)+{num_extra_tokens} rows')
    if (sh, sw) == (th, tw):
        return table
    heads = table.shape[1]
    num_grid = sh * sw
    grid = table[:num_grid].double().T.reshape(heads, sh, sw)  # [H, sh, sw]
    mat_h = _axis_matrix(sh, th, table.device)  # [th, sh]
    mat_w = _axis_matrix(sw, tw, table.device)  # [tw, sw]
    out = mat_h @ grid @ mat_w.T  # [H, th, tw]
    out = out.reshape(heads, th * tw).T.to(table.dtype)  # [th*tw, H]
    return torch.cat([out, table[num_grid:]], dim=0)


def resize_abs_pos_embed(pos_embed: Tensor,
                         src_size: Sequence[int] | int,
                         dst_size: Sequence[int] | int,
                         num_extra_tokens: int = 1) -> Tensor:
    """Resize an absolute position embedding bicubically.

    Args:
        pos_embed: ``[1, num_extra_tokens + Hs*Ws, C]`` with the
            extra (cls) tokens at the front.
        src_size: Source patch grid ``(Hs, Ws)``.
        dst_size: Target patch grid ``(Hd, Wd)``.
        num_extra_tokens: Leading tokens kept unchanged. Defaults to 1.

    Returns:
        Tensor: ``[1, num_extra_tokens + Hd*Wd, C]`` (``F.interpolate``,
        bicubic, ``align_corners=False``), in the input dtype; the input
        itself when the grids are equal.
    """
    (src_h, src_w), (dst_h, dst_w) = _pair(src_size), _pair(dst_size)
    if pos_embed.dim() != 3 or pos_embed.shape[1] != (src_h * src_w +
                                                      num_extra_tokens):
        raise ValueError(
            f'pos_embed of shape {tuple(pos_embed.shape)} does not match a '
            f'{src_h}x{src_w} grid with {num_extra_tokens} extra token(s): '
            f'expected [B, {src_h * src_w + num_extra_tokens}, C]')
    if (src_h, src_w) == (dst_h, dst_w):
        return pos_embed
    batch, _, chans = pos_embed.shape
    extra = pos_embed[:, :num_extra_tokens]  # [B, E, C]
    grid = pos_embed[:, num_extra_tokens:].reshape(batch, src_h, src_w, chans)
    grid = grid.permute(0, 3, 1, 2).float()  # [B, C, Hs, Ws]
    grid = F.interpolate(
        grid, size=(dst_h, dst_w), mode='bicubic', align_corners=False)
    grid = grid.flatten(2).transpose(1, 2).to(pos_embed.dtype)  # [B, Hd*Wd, C]
    return torch.cat([extra, grid], dim=1)
