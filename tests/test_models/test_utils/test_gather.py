"""Gathers across ranks, alone (one process): rows placed back at their dataset index."""
import pytest
import torch

from beitmm.models.utils import gather_by_id


def test_gathered_rows_go_back_to_their_dataset_index():
    rows = torch.arange(6.).view(3, 2)
    out = gather_by_id(rows, torch.tensor([2, 0, 1]), 3)  # a sampler's interleaved order
    assert out.tolist() == [[2., 3.], [4., 5.], [0., 1.]]
    with pytest.raises(ValueError, match=r'no rank encoded the items \[3\]'):
        gather_by_id(rows, torch.tensor([2, 0, 1]), 4)
