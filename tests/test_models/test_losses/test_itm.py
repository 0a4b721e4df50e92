"""Image-text matching: hard negatives drawn from the contrastive similarities, never the positive."""
import pytest
import torch

from beitmm.models.losses import sample_hard_negatives


def test_hard_negatives_never_draw_the_positive_and_follow_the_similarities():
    logits = torch.tensor([[5., 0., -50.], [0., 5., 8.]])
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([sample_hard_negatives(logits, torch.tensor([0, 1]), g) for _ in range(200)])
    assert (draws[:, 0] != 0).all() and (draws[:, 1] != 1).all()
    assert (draws[:, 0] == 1).float().mean() > 0.99  # exp(0) >> exp(-50)
    assert (draws[:, 1] == 2).float().mean() > 0.99
    with pytest.raises(ValueError, match='at least 2'):
        sample_hard_negatives(torch.zeros(1, 1), torch.tensor([0]))
