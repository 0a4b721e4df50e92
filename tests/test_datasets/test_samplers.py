"""Resumable samplers: fresh streams per iterator, skip positions, seeded indices."""
import itertools

from beitmm.datasets.samplers import ResumableInfiniteSampler, ResumableSampler


def test_infinite_sampler_survives_a_closed_iterator():
    """Closing an earlier iterator (dataloader workers shut down) must not end later ones."""
    sampler = ResumableInfiniteSampler(list(range(10)), shuffle=True, seed=3)
    first = iter(sampler)
    head = [int(i) for i in itertools.islice(first, 5)]
    first.close()
    again = [int(i) for i in itertools.islice(iter(sampler), 25)]
    assert len(again) == 25
    assert again[:5] == head  # nothing was trained: a new iterator starts at the same position
    assert sorted(again[:10]) == list(range(10))  # one pass = a permutation


def test_infinite_sampler_skip_continues_the_same_order():
    sampler = ResumableInfiniteSampler(list(range(7)), shuffle=True, seed=0)
    full = list(itertools.islice(iter(sampler), 20))
    sampler.skip(9)
    resumed = list(itertools.islice(iter(sampler), 11))
    assert [int(i) for i in resumed] == [int(i) for i in full[9:]]
    assert [i.key for i in resumed] == [i.key for i in full[9:]]


def test_epoch_sampler_skip_applies_once():
    sampler = ResumableSampler(list(range(8)), shuffle=False, seed=0)
    sampler.skip(3)
    assert [int(i) for i in sampler] == [3, 4, 5, 6, 7]
    assert [int(i) for i in sampler] == list(range(8))


def test_seeded_random_seeds_the_cpu_streams_and_restores_them(monkeypatch):
    """Inside: python / numpy / torch CPU streams from the key; after: the caller's; CUDA's is never touched."""
    import random

    import numpy as np
    import torch

    from beitmm.datasets.samplers import sample_seed, seeded_random
    seed = sample_seed((3, 1, 7))
    random.seed(seed)
    np.random.seed(seed)
    torch.default_generator.manual_seed(seed)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    torch.manual_seed(123)
    outside = torch.get_rng_state()
    cuda_seeds = []
    monkeypatch.setattr(torch.cuda, 'manual_seed_all', cuda_seeds.append)  # what torch.manual_seed also calls
    with seeded_random((3, 1, 7)):
        assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
    assert torch.equal(torch.get_rng_state(), outside) and cuda_seeds == []
