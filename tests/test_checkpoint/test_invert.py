"""beitmm.checkpoint.invert: running an importer backwards, and refusing importers that compute values."""
import pytest
import torch

from beitmm.checkpoint.invert import NotAPermutationError, invert_conversion

SHAPES = {'q.weight': (2, 3), 'k.weight': (2, 3), 'v.weight': (2, 3), 'norm.weight': (3, ), 'unused': (4, )}


def _importer(state):
    """Like the HF importer: q / k / v concatenated into qkv, a rename, one key dropped."""
    return {'qkv.weight': torch.cat([state['q.weight'], state['k.weight'], state['v.weight']]),
            'ln.weight': state['norm.weight']}


def test_inverse_of_renames_and_concatenation():
    target = {'qkv.weight': torch.arange(18.).view(6, 3), 'ln.weight': torch.tensor([7., 8., 9.])}
    foreign, unfilled = invert_conversion(_importer, SHAPES, target)
    assert unfilled == ['unused']  # no beitmm weight feeds it: the caller decides
    assert torch.equal(foreign['k.weight'], torch.arange(6., 12.).view(2, 3))  # rows 2-3 of qkv
    back = _importer(dict(foreign, unused=torch.zeros(4)))
    assert all(torch.equal(back[k], target[k]) for k in target)


def test_an_importer_that_computes_is_refused():
    def resizing(state):
        return {'ln.weight': state['norm.weight'].float() * 2}

    with pytest.raises(NotAPermutationError, match='computed ln.weight'):
        invert_conversion(resizing, SHAPES, {'ln.weight': torch.ones(3)})


def test_a_partly_read_tensor_is_refused():
    def slicing(state):
        return {'ln.weight': state['unused'][:3]}

    with pytest.raises(NotAPermutationError, match='only part of unused'):
        invert_conversion(slicing, SHAPES, {'ln.weight': torch.ones(3)})


def test_one_element_read_twice_must_agree():
    def copying(state):  # a shared table copied into two layers
        return {'a': state['norm.weight'], 'b': state['norm.weight']}

    same = {'a': torch.ones(3), 'b': torch.ones(3)}
    assert torch.equal(invert_conversion(copying, SHAPES, same)[0]['norm.weight'], torch.ones(3))
    with pytest.raises(NotAPermutationError, match='values differ'):
        invert_conversion(copying, SHAPES, {'a': torch.ones(3), 'b': torch.zeros(3)})
