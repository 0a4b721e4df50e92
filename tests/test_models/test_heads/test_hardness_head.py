"""Hardness head: flat start, regression on the loss of the drawn tokens, no gradient into the generator."""
import math

import pytest
import torch

from beitmm.models.heads import HardnessHead


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
