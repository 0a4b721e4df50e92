"""Focal MLM loss against torch's cross-entropy and a hand table; RTD loss parts; hardness head regression."""
import math

import pytest
import torch
import torch.nn.functional as F

from beitmm.models.electra import HardnessHead, rtd_loss
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


def test_hardness_head_starts_flat_and_learns_the_loss_of_drawn_tokens():
    torch.manual_seed(0)
    head = HardnessHead(8, 5)
    x = torch.randn(40, 8)
    torch.testing.assert_close(head(x), torch.full((40, 5), math.log(2)))
    ids = torch.randint(0, 5, (40, ))
    target = 0.2 + ids.float() * 0.5  # the loss grows with the token id
    opt = torch.optim.Adam(head.parameters(), lr=0.1)
    for _ in range(80):
        opt.zero_grad()
        head.loss(head(x), ids, target)['loss_hardness'].backward()
        opt.step()
    assert head.loss(head(x), ids, target)['hardness_err'] < 0.05
    x.requires_grad_()
    head(x).sum().backward()
    assert x.grad is None  # the generator body gets no gradient from the hardness head
    with pytest.raises(ValueError, match='init_hardness'):
        HardnessHead(8, 5, init_hardness=0.)
