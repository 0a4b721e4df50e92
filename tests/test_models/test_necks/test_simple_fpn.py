"""beitmm.SimpleFPN against a transcription of ViTDet's ``SimpleFeaturePyramid`` (detectron2 projects/ViTDet).

The reference applies, per scale, ViTDet's ops with the neck's weights: scale 4: deconv 2x2 s2 -> channel LayerNorm
-> GELU -> deconv 2x2 s2; scale 2: deconv; scale 1: identity; scale 0.5: max pool 2x2 s2; then a bias-free 1x1 conv
+ LayerNorm and a bias-free 3x3 conv + LayerNorm; ``LastLevelMaxPool``: max pool kernel 1, stride 2 of the last.
"""
import pytest
import torch
import torch.nn.functional as F

from beitmm.models.necks import SimpleFPN


def _ln(x, norm):
    return F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1], ), norm.weight, norm.bias, norm.eps).permute(0, 3, 1, 2)


def vitdet_pyramid(neck, x):
    outs = []
    levels = zip((4.0, 2.0, 1.0, 0.5), neck.resample, neck.lateral_convs, neck.fpn_convs, strict=True)
    for scale, res, lat, fpn in levels:
        if scale == 4.0:
            d1, n1, _, d2 = res
            y = F.conv_transpose2d(x, d1.weight, d1.bias, stride=2)
            y = F.conv_transpose2d(F.gelu(_ln(y, n1)), d2.weight, d2.bias, stride=2)
        elif scale == 2.0:
            y = F.conv_transpose2d(x, res.weight, res.bias, stride=2)
        elif scale == 1.0:
            y = x
        else:
            y = F.max_pool2d(x, kernel_size=2, stride=2)
        y = _ln(F.conv2d(y, lat.conv.weight), lat.norm)
        outs.append(_ln(F.conv2d(y, fpn.conv.weight, padding=1), fpn.norm))
    outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2, padding=0))
    return outs


def test_simple_fpn_matches_vitdet():
    torch.manual_seed(0)
    neck = SimpleFPN(32, 16).eval()
    for p in neck.parameters():
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randn(2, 32, 6, 5)
    outs = neck((x, ))
    ref = vitdet_pyramid(neck, x)
    assert [o.shape[-2:] for o in outs] == [(24, 20), (12, 10), (6, 5), (3, 2), (2, 1)]
    for o, r in zip(outs, ref, strict=True):
        torch.testing.assert_close(o, r, rtol=1e-5, atol=1e-5)
    assert all(m.conv.bias is None for m in (*neck.lateral_convs, *neck.fpn_convs))  # ViTDet: no bias before norm


def test_simple_fpn_checks_its_arguments():
    with pytest.raises(ValueError, match='num_outs'):
        SimpleFPN(32, 16, num_outs=7)
    with pytest.raises(ValueError, match='scale factor 3.0'):
        SimpleFPN(32, 16, scale_factors=(3.0, ), num_outs=1)
