"""Focal MLM loss against torch's cross-entropy and a hand table."""
import math

import pytest
import torch
import torch.nn.functional as F

from beitmm.models.losses import FocalMLMLoss, focal_cross_entropy


def test_focal_at_gamma_zero_is_torch_cross_entropy():
    torch.manual_seed(0)
    logits, target = torch.randn(50, 30, requires_grad=True), torch.randint(0, 30, (50, ))
    out = FocalMLMLoss(gamma=0.)(logits, target)
    ref = F.cross_entropy(logits, target)
    torch.testing.assert_close(out['loss'], ref)
    g1, = torch.autograd.grad(out['loss'], logits)
    g2, = torch.autograd.grad(ref, logits)
    torch.testing.assert_close(g1, g2)
    torch.testing.assert_close(out['mim_acc'], (logits.argmax(-1) == target).float().mean() * 100)


def test_focal_hand_values():
    # two classes, logits 0 / 0: p = 1/2; gamma 2: (1/2)^2 * ln 2. Logits ln 3 / 0: p = 3/4; gamma 1: 1/4 * ln(4/3)
    logits = torch.tensor([[0., 0.], [math.log(3.), 0.]])
    assert abs(focal_cross_entropy(logits[:1], torch.tensor([0]), 2.).item() - 0.25 * math.log(2)) < 1e-6
    assert abs(focal_cross_entropy(logits[1:], torch.tensor([0]), 1.).item() - 0.25 * math.log(4 / 3)) < 1e-6
    # a larger gamma down-weights a confident position more than an unsure one
    assert focal_cross_entropy(logits[1:], torch.tensor([0]), 2.) < focal_cross_entropy(logits[1:],
                                                                                        torch.tensor([0]), 1.)


def test_negative_gamma_is_refused_naming_it():
    with pytest.raises(ValueError, match='gamma must be >= 0'):
        FocalMLMLoss(gamma=-0.5)
    with pytest.raises(ValueError, match='gamma'):
        focal_cross_entropy(torch.zeros(1, 2), torch.tensor([0]), -1.)
