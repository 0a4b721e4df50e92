"""THE-X approximations against their exact functions on their documented ranges (tolerances stated here)."""
import copy
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from beitmm.models.layers import Attention, Block
from beitmm.models.the_x import THEXAffineNorm, THEXPolyGELU, THEXSoftmax, softmax_numerator


def test_poly_gelu_within_stated_error_of_gelu_on_its_range():
    act = THEXPolyGELU(degree=2, fit_range=(-4., 4.))
    x = torch.linspace(-4, 4, 4001)
    # least-squares quadratic of GELU on [-4, 4]: max abs error 0.30 (measured 0.299), mean 0.139
    err = (act(x) - F.gelu(x)).abs()
    assert err.max() < 0.31 and err.mean() < 0.15
    act4 = THEXPolyGELU(degree=4, fit_range=(-3., 3.))
    x = torch.linspace(-3, 3, 3001)
    assert (act4(x) - F.gelu(x)).abs().max() < 0.075  # quartic on [-3, 3]: 0.071 measured
    assert act.n_out_of_range == 0


def test_poly_gelu_counts_and_warns_outside_its_range():
    act = THEXPolyGELU(degree=2, fit_range=(-4., 4.))
    act.monitor_name = 'blocks.0.mlp.act'
    with pytest.warns(UserWarning, match=r'blocks\.0\.mlp\.act: 2 of 5 activation inputs outside'):
        act(torch.tensor([-5., 0., 1., 4., 6.]))
    assert (act.n_out_of_range, act.n_seen) == (2, 5)


def test_numerator_hand_values():
    x = torch.tensor([-3., -2., 0., 2., 3.])
    # (x / 2 + 1)^3 clipped at 0: 0, 0, 1, 8, 15.625
    assert torch.allclose(softmax_numerator(x), torch.tensor([0., 0., 1., 8., 15.625]))


def test_reciprocal_network_approximates_one_over_s_on_its_range():
    sm = THEXSoftmax(sum_range=(1., 64.), hidden=16)
    s = torch.logspace(0, math.log10(64), 500)[:, None]
    rel = (sm.reciprocal(s) * s - 1).abs()
    assert rel.max() < 0.025  # piecewise-linear interpolant at 16 log-spaced knots: 1.9% measured
    # flat outside the range by construction; checked in float64, since in float32 the hinge sum at s = 1e4 cancels
    # to ~1e-7 * s (5e-4 here with AVX-512 summation order, 1e-5 with AVX2's): rounding, not the construction
    outside = copy.deepcopy(sm.reciprocal).double()(torch.tensor([[0.], [0.5], [64.], [1e3], [1e4]]).double())[:, 0]
    assert torch.allclose(outside, torch.tensor([1., 1., 1 / 64, 1 / 64, 1 / 64]).double(), rtol=0, atol=2e-6)
    in_float32 = sm.reciprocal(torch.tensor([[64.], [128.], [1e3]]))[:, 0]  # in practice: sums up to ~N * 15
    assert torch.allclose(in_float32, torch.full((3,), 1 / 64), rtol=0, atol=2e-4)


def test_thex_softmax_is_the_normalised_numerator_and_masks_multiplicatively():
    torch.manual_seed(0)
    sm = THEXSoftmax(input_range=(-2., 3.), sum_range=(1., 64.))
    scores = torch.rand(2, 2, 5, 5) * 4 - 1  # in [-1, 3]: every row has a numerator >= 0.125 ... sum within range
    scores[..., 0] = 1.  # row sums >= 3.375
    num = softmax_numerator(scores)
    ref = num / num.sum(-1, keepdim=True)
    out = sm(scores)
    assert torch.allclose(out, ref, rtol=0.025, atol=0)
    keep = torch.tensor([True, True, False, True, False])
    masked = sm(scores, keep[None, None, None, :])
    assert torch.all(masked[..., ~keep] == 0)
    ref_keep = num[..., keep] / num[..., keep].sum(-1, keepdim=True)
    assert torch.allclose(masked[..., keep], ref_keep, rtol=0.025, atol=0)
    additive = torch.zeros(5).masked_fill(~keep, float('-inf'))
    assert torch.equal(sm(scores, additive[None, None, None, :]), masked)
    assert sm.n_out_of_range == 0


def test_thex_softmax_counts_scores_outside_its_range():
    sm = THEXSoftmax(input_range=(-2., 3.), sum_range=(1., 64.))
    with pytest.warns(UserWarning, match='attention scores outside the documented range'):
        sm(torch.tensor([[[[4., 0., -3.]]]]))
    assert sm.n_out_of_range >= 2 and sm.n_seen == 4  # 3 scores + 1 row sum


def test_calibration_sets_norm_stds_and_softmax_scales():
    from beitmm.models.the_x import calibrate_student, convert_model
    torch.manual_seed(0)
    teacher = Block(16, 2, 32, window=None).eval()
    x = torch.randn(4, 5, 16) * 7  # LayerNorm inputs of std 7: an affine init at std 1 would be 7x too large
    with torch.no_grad():
        teacher.attn.qkv.weight.mul_(20)  # large scores, far outside [-2, 3]
    student = convert_model(teacher, extra_known=('Block', ))
    calibrate_student(teacher, student, lambda m: m(x))
    sm = student.attn.softmax
    assert abs(float(student.norm1.weight.diagonal().mean()) * 7 - 1) < 0.15  # gamma / std, std measured ~7
    seen = []
    sm.register_forward_hook(lambda mod, args, out: seen.append(args[0] * mod.scale))
    student(x)
    assert abs(float(seen[0].abs().max()) - 3.) < 1e-4  # the largest scaled score is the top of input_range


def test_affine_norm_from_layer_norm_equals_it_at_the_calibrated_std():
    torch.manual_seed(0)
    ln = nn.LayerNorm(16, eps=0.)
    with torch.no_grad():
        ln.weight.normal_()
        ln.bias.normal_()
    x = torch.randn(8, 16)
    x = (x - x.mean(-1, keepdim=True)) / x.std(-1, unbiased=False, keepdim=True) * 2.5 + torch.randn(8, 1)
    full = THEXAffineNorm.from_layer_norm(ln, full=True, std=2.5)
    assert torch.allclose(full(x), ln(x), atol=1e-5)  # inputs of std 2.5, any mean: exact
    diag = THEXAffineNorm.from_layer_norm(ln, full=False, std=2.5)
    centred = x - x.mean(-1, keepdim=True)
    assert torch.allclose(diag(centred), ln(x), atol=1e-5)  # the paper's x * gamma + beta: no mean subtraction
    assert torch.equal(diag.matrix(), torch.diag(diag.weight))


class _ExactSoftmax(nn.Module):
    def forward(self, scores, attn_mask=None):
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float('-inf'))
        return scores.softmax(-1)


def test_explicit_attention_path_matches_the_fused_one():
    torch.manual_seed(0)
    attn = Attention(32, 2, window=(2, 2)).eval()
    with torch.no_grad():
        attn.relative_position_bias_table.normal_()
        attn.q_bias.normal_()
    x = torch.randn(2, 5, 32)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])[:, None, None, :]
    ref = attn(x, (2, 2), None, mask)
    attn.softmax = _ExactSoftmax()
    assert torch.allclose(attn(x, (2, 2), None, mask), ref, atol=1e-5)


def test_hooks_keep_default_state_dict_keys():
    plain = Block(32, 2, 64, window=(2, 2))
    approx = Block(32, 2, 64, window=(2, 2), softmax_cfg=dict(type='beitmm.THEXSoftmax'),
                   act_cfg=dict(type='beitmm.THEXPolyGELU'), norm_cfg=dict(type='beitmm.THEXAffineNorm'))
    assert 'attn.softmax' not in dict(plain.named_modules())
    extra = set(approx.state_dict()) - set(plain.state_dict())
    assert extra and all(k.startswith(('attn.softmax.', 'mlp.act.')) for k in extra)
    assert isinstance(approx.norm1, THEXAffineNorm) and approx(torch.randn(1, 5, 32), (2, 2)).shape == (1, 5, 32)
