"""Replaced-token detection loss: its parts by hand."""
import math

import torch

from beitmm.models.losses import rtd_loss


def test_rtd_loss_parts_by_hand():
    logits = torch.tensor([[2., -1., 0.5, 3.]])
    replaced = torch.tensor([[True, False, False, True]])
    valid = torch.tensor([[True, True, True, False]])  # the last is padding
    out = rtd_loss(logits, replaced, valid, weights=torch.tensor([[2., 1., 1., 1.]]))
    bce = [math.log1p(math.exp(-2.)), math.log1p(math.exp(-1.)), math.log1p(math.exp(0.5))]
    assert abs(out['loss'].item() - (2 * bce[0] + bce[1] + bce[2]) / 3) < 1e-6
    assert abs(out['disc_replaced'].item() - bce[0]) < 1e-6
    assert abs(out['disc_kept'].item() - (bce[1] + bce[2]) / 2) < 1e-6
    assert abs(out['acc'].item() - 2 / 3) < 1e-6 and out['acc_replaced'].item() == 1.0
