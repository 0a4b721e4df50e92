"""THE-X's HE-friendly replacements of GELU, softmax and LayerNorm (Chen et al., Findings of ACL 2022).

Each module computes only additions, multiplications by constants or by other activations, and ReLU (which the
THE-X protocol has the client evaluate on decrypted values), so the encrypted runtime (``beitmm.he``) evaluates
exactly the same function on ciphertext. Each one has a documented input range; inputs outside it are counted
(``n_out_of_range`` / ``n_seen``) and warned about once per module.

- :class:`THEXPolyGELU`: least-squares polynomial of GELU on ``fit_range`` (degree 2 by default).
- :class:`THEXSoftmax`: ``S(x)_i = n(x_i) * T(sum_j n(x_j))`` with ``n(x) = ReLU((x / 2 + 1) ** 3)`` and ``T`` a small
  learned ReLU network approximating ``1 / s`` (fitted at construction on ``sum_range``, then trained with the
  model). Masks are multiplicative: masked keys get ``n = 0``.
- :class:`THEXAffineNorm`: a learned affine map ``x @ W.T + b`` replacing LayerNorm (``full=True``, the code of the
  third-party sketch silencrown/THE-X-TenSeal, ``Linear(d, d)``, which can learn the mean subtraction) or
  ``x * w + b`` (``full=False``, the diagonal form that sketch's docstring writes as ``x o gamma + beta``; the
  paper's own formula could not be read), initialised from the LayerNorm and obtained by distillation.
"""
import copy
import math
import warnings
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from beitmm.registry import MODELS


class RangeMonitor:
    """Counts inputs outside a documented range and warns once per module (``monitor_name`` set by the converter)."""

    monitor_name = ''

    def _init_monitor(self) -> None:
        self.n_seen = 0
        self.n_out_of_range = 0
        self._warned = False

    def observe(self, x: Tensor, lo: float, hi: float, what: str) -> None:
        """Count the entries of ``x`` outside ``[lo, hi]``; warn on the first ones.

        Args:
            x: Inputs (any shape).
            lo: Lower end of the documented range.
            hi: Upper end.
            what: Name of the input for the warning.
        """
        with torch.no_grad():
            bad = int(((x < lo) | (x > hi)).sum())
        self.n_seen += x.numel()
        self.n_out_of_range += bad
        if bad and not self._warned:
            self._warned = True
            warnings.warn(f'{type(self).__name__} {self.monitor_name}: {bad} of {x.numel()} {what} outside the '
                          f'documented range [{lo:g}, {hi:g}] (range {float(x.min()):.3g}..{float(x.max()):.3g}); '
                          'the approximation is not accurate there (counted in n_out_of_range)', stacklevel=3)


def fit_gelu_poly(degree: int, fit_range: Tuple[float, float], points: int = 2001) -> np.ndarray:
    """Least-squares polynomial fit of exact GELU on a range.

    Args:
        degree: Polynomial degree.
        fit_range: (lo, hi) of the fit.
        points: Sample points.

    Returns:
        Coefficients [degree + 1], constant term first.
    """
    x = np.linspace(fit_range[0], fit_range[1], points)
    y = 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    return np.polynomial.polynomial.polyfit(x, y, degree)


@MODELS.register_module()
class THEXPolyGELU(RangeMonitor, nn.Module):
    """GELU replaced by a low-degree polynomial (the server evaluates it on ciphertext; no client round trip).

    Args:
        degree: Polynomial degree (2: ``c0 + c1 x + c2 x^2``).
        fit_range: Documented input range: the least-squares fit range of GELU.
        coeffs: Explicit coefficients (constant first); overrides the fit.
    """

    def __init__(self, degree: int = 2, fit_range: Sequence[float] = (-4., 4.),
                 coeffs: Optional[Sequence[float]] = None) -> None:
        super().__init__()
        self._init_monitor()
        self.fit_range = (float(fit_range[0]), float(fit_range[1]))
        c = np.asarray(coeffs if coeffs is not None else fit_gelu_poly(degree, self.fit_range), dtype=np.float64)
        self.register_buffer('coeffs', torch.tensor(c, dtype=torch.float32))

    def forward(self, x: Tensor) -> Tensor:
        """Elementwise polynomial (Horner)."""
        self.observe(x, *self.fit_range, 'activation inputs')
        out = torch.zeros_like(x) + self.coeffs[-1]
        for c in self.coeffs.flip(0)[1:]:
            out = out * x + c
        return out

    def extra_repr(self) -> str:
        """Coefficients and range."""
        return f'coeffs={[round(float(c), 5) for c in self.coeffs]}, fit_range={self.fit_range}'


def softmax_numerator(x: Tensor) -> Tensor:
    """THE-X's exp substitute ``ReLU((x / 2 + 1) ** 3)`` (the cube on the server, the ReLU at the client)."""
    return F.relu((x / 2 + 1) ** 3)


NUMERATOR_COEFFS = (1., 1.5, .75, .125)  # (x / 2 + 1)^3 expanded, constant first: what the server evaluates


@MODELS.register_module()
class THEXSoftmax(RangeMonitor, nn.Module):
    """THE-X softmax: polynomial numerator times a learned reciprocal of the row sum.

    Documented input range: scores (after the 1/sqrt(d) scale, the position bias and this module's learned
    ``scale``, calibrated from data by :func:`~beitmm.models.the_x.calibrate_student`) in ``input_range``
    (default [-2, 3]: below -2 the numerator is 0, like a masked key); row sums of numerators in ``sum_range``,
    the range ``T`` is fitted on at construction (relative error of ``T(s) * s - 1`` reported by
    :meth:`reciprocal_error`; constant outside it by construction, to float32 rounding: the hinge sum cancels to
    about 1e-7 * s, e.g. 5e-4 at s = 1e4 with AVX-512's summation order).

    Args:
        input_range: Documented score range.
        sum_range: Range of the row sums the reciprocal network is fitted on (log-uniform samples).
        hidden: Width of the reciprocal network ``Linear(1, h) - ReLU - Linear(h, h) - ReLU - Linear(h, 1)``.
        fit_steps: Adam refinement steps of the initial fit (seeded, deterministic).
    """

    def __init__(self, input_range: Sequence[float] = (-2., 3.), sum_range: Sequence[float] = (1., 64.),
                 hidden: int = 16, fit_steps: int = 300) -> None:
        super().__init__()
        self._init_monitor()
        self.input_range = (float(input_range[0]), float(input_range[1]))
        self.sum_range = (float(sum_range[0]), float(sum_range[1]))
        self.scale = nn.Parameter(torch.ones(()))  # score scale (the encrypted runtime folds it into q)
        self.reciprocal = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                        nn.Linear(hidden, 1))
        self.fit_reciprocal(fit_steps)

    def _sums(self, n: int, generator: torch.Generator) -> Tensor:
        lo, hi = math.log(self.sum_range[0]), math.log(self.sum_range[1])
        return torch.exp(torch.rand(n, 1, generator=generator) * (hi - lo) + lo)

    def fit_reciprocal(self, steps: int, seed: int = 0) -> float:
        """Initialise ``T`` as the piecewise-linear interpolant of ``1 / s`` at log-spaced knots, then refine it.

        Layer 1 puts a ReLU hinge ``relu(s - t_k)`` at each knot, layer 2 passes them on (identity), layer 3
        sums them with the interpolant's slope changes (constant outside ``sum_range``). Refinement: Adam (lr 1e-3)
        on the relative error ``(T(s) s - 1)^2`` over log-uniform samples of ``sum_range``; kept only where it
        lowers the max error.

        Args:
            steps: Refinement steps (0: the interpolant as it is).
            seed: Seed of the samples.

        Returns:
            The final max relative error on a 1000-point grid (:meth:`reciprocal_error`).
        """
        lin1, lin2, lin3 = self.reciprocal[0], self.reciprocal[2], self.reciprocal[4]
        h = lin1.out_features
        knots = torch.logspace(math.log10(self.sum_range[0]), math.log10(self.sum_range[1]), h)
        y = 1 / knots
        slopes = (y[1:] - y[:-1]) / (knots[1:] - knots[:-1])  # [h - 1]
        with torch.no_grad():
            lin1.weight.fill_(1.)
            lin1.bias.copy_(-knots)
            lin2.weight.copy_(torch.eye(h))
            lin2.bias.zero_()
            lin3.weight.zero_()
            lin3.weight[0, :-1] = slopes - torch.cat((slopes.new_zeros(1), slopes[:-1]))
            lin3.weight[0, -1] = -slopes[-1]  # flat beyond the range: T stays within [1 / s_max, 1 / s_min]
            lin3.bias.fill_(float(y[0]))
        best, state = self.reciprocal_error(), copy.deepcopy(self.reciprocal.state_dict())
        g = torch.Generator().manual_seed(seed)
        with torch.enable_grad():
            opt = torch.optim.Adam(self.reciprocal.parameters(), lr=1e-3)
            for _ in range(steps):
                s = self._sums(512, g)
                loss = ((self.reciprocal(s) * s - 1) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        if self.reciprocal_error() > best:
            self.reciprocal.load_state_dict(state)
        return self.reciprocal_error()

    @torch.no_grad()
    def reciprocal_error(self, points: int = 1000) -> float:
        """Max relative error ``|T(s) s - 1|`` on a log grid of ``sum_range``."""
        s = torch.logspace(math.log10(self.sum_range[0]), math.log10(self.sum_range[1]), points)[:, None]
        return float((self.reciprocal(s) * s - 1).abs().max())

    def forward(self, scores: Tensor, attn_mask: Optional[Tensor] = None) -> Tensor:
        """Approximate softmax over the last dimension.

        Args:
            scores: Attention scores [B, heads, Nq, Nk] (scaled by 1/sqrt(d), position bias added); multiplied by
                ``scale`` first.
            attn_mask: Bool (True = may attend) or additive mask (0 = may attend) broadcastable to the scores;
                applied multiplicatively to the numerator.

        Returns:
            Attention weights, same shape as ``scores``.
        """
        scores = scores * self.scale
        self.observe(scores if attn_mask is None else scores[keep_mask(attn_mask).expand_as(scores)],
                     *self.input_range, 'attention scores')
        num = softmax_numerator(scores)
        if attn_mask is not None:
            num = num * keep_mask(attn_mask).to(num.dtype)
        total = num.sum(-1, keepdim=True)  # [..., 1]
        self.observe(total, *self.sum_range, 'softmax row sums')
        return num * self.reciprocal(total)

    def extra_repr(self) -> str:
        """Ranges."""
        return f'input_range={self.input_range}, sum_range={self.sum_range}'


def keep_mask(attn_mask: Tensor) -> Tensor:
    """Bool (True = attend) or additive (0 = attend, negative = masked) mask -> bool keep mask."""
    return attn_mask if attn_mask.dtype == torch.bool else attn_mask > -1.


@MODELS.register_module()
class THEXAffineNorm(nn.Module):
    """LayerNorm replaced by a learned affine map (obtained by distillation).

    Args:
        normalized_shape: Feature width d.
        full: ``x @ weight.T + bias`` with ``weight`` [d, d] (can learn the mean subtraction; the sketch's code);
            False: ``x * weight + bias`` with ``weight`` [d] (the ``x o gamma + beta`` of the third-party sketch's
            docstring, not read in the paper).
    """

    def __init__(self, normalized_shape: int, full: bool = True) -> None:
        super().__init__()
        d = int(normalized_shape)
        self.full = full
        self.weight = nn.Parameter(torch.eye(d) if full else torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))

    @classmethod
    def from_layer_norm(cls, ln: nn.LayerNorm, full: bool = True, std: float = 1.) -> 'THEXAffineNorm':
        """Initialise from a LayerNorm: ``gamma / std * (x - mean(x)) + beta`` (mean subtraction only if full).

        Args:
            ln: The LayerNorm (its affine weights; ones / zeros without them).
            full: See the class.
            std: Typical standard deviation of the LayerNorm's inputs (from calibration data; 1 by default).

        Returns:
            The affine map.
        """
        d = ln.normalized_shape[-1]
        gamma = ln.weight.detach() if ln.weight is not None else torch.ones(d)
        beta = ln.bias.detach() if ln.bias is not None else torch.zeros(d)
        out = cls(d, full).to(gamma.device)
        with torch.no_grad():
            if full:
                centre = torch.eye(d) - torch.full((d, d), 1. / d)
                out.weight.copy_((gamma / std)[:, None] * centre.to(gamma.device))
            else:
                out.weight.copy_(gamma / std)
            out.bias.copy_(beta)
        return out

    def matrix(self) -> Tensor:
        """The map as ``[d, d]`` matrix M with ``y = x @ M.T + bias`` (what the encrypted runtime folds)."""
        return self.weight if self.full else torch.diag(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        """[..., d] -> [..., d]."""
        return F.linear(x, self.weight, self.bias) if self.full else x * self.weight + self.bias
