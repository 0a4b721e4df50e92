"""Run an importer backwards: write beitmm weights in a foreign layout by inverting the converter that reads it.

beitmm reads foreign layouts (HF, unilm, mmseg, ...) with pure ``state_dict -> state_dict`` converters. Most of their
work is renaming, and the rest (HF's separate query / key / value projections concatenated into one ``qkv``, FPN
modules renamed to neck keys) only moves elements. Such a converter is a map from the foreign tensors' elements
to beitmm's; :func:`invert_conversion` feeds it a probe state dict whose elements are their own global index, reads
off where each foreign element lands, and fills the foreign tensors from the beitmm values at those places. No
second (reverse) key table exists to drift from the importer: writing layout X is defined as "what the reader of X
reads back as these weights". Converters that compute new values (resizing, averaging) break the permutation and
are rejected.
"""
from typing import Callable, Dict, List, Mapping, Sequence, Tuple

import torch
from torch import Tensor

StateDict = Dict[str, Tensor]


class NotAPermutationError(ValueError):
    """The converter does more than move elements, so it cannot be run backwards."""


def _probe(shapes: Mapping[str, Sequence[int]]) -> Tuple[StateDict, List[int], torch.dtype]:
    """Foreign state dict whose every element is its global index (int32 while that fits, else int64)."""
    offsets, total = [], 0
    for shape in shapes.values():
        offsets.append(total)
        total += int(torch.Size(shape).numel())
    dtype = torch.int32 if total < 2 ** 31 else torch.int64
    probe = {k: torch.arange(o, o + torch.Size(s).numel(), dtype=dtype).view(tuple(s))
             for (k, s), o in zip(shapes.items(), offsets, strict=True)}
    return probe, offsets, dtype


def invert_conversion(convert: Callable[[StateDict], StateDict], foreign_shapes: Mapping[str, Sequence[int]],
                      state: Mapping[str, Tensor]) -> Tuple[StateDict, List[str]]:
    """Foreign-layout tensors that ``convert`` turns back into ``state``.

    Args:
        convert: The importer, foreign state dict -> beitmm state dict (keys it cannot place are dropped).
        foreign_shapes: ``{key: shape}`` of the foreign layout to write (e.g. an HF model's ``state_dict()``).
        state: beitmm weights (any subset of the importer's output keys is read; the importer's other outputs
            are ignored).

    Returns:
        ``(foreign, unfilled)``: the foreign state dict (dtype of the beitmm tensor each key is filled from) and the
        foreign keys no beitmm weight fills, in ``foreign_shapes`` order; a key is either wholly filled or listed.

    Raises:
        NotAPermutationError: The importer changed values (resized, cast or combined elements), filled only part
            of a foreign tensor, or read one foreign element into two beitmm places holding different values.
    """
    keys = list(foreign_shapes)
    probe, offsets, dtype = _probe(foreign_shapes)
    converted = convert(probe)
    starts = torch.tensor(offsets, dtype=torch.int64)
    flat: Dict[str, Tensor] = {}
    filled: Dict[str, Tensor] = {}
    for dst, index in converted.items():
        if dst not in state:
            continue
        value = state[dst]
        if index.dtype != dtype or index.shape != value.shape:
            raise NotAPermutationError(
                f'the importer computed {dst} (dtype {index.dtype}, shape {tuple(index.shape)}; beitmm has '
                f'{tuple(value.shape)}) instead of moving elements: this layout cannot be written by inversion')
        index, value = index.reshape(-1).long(), value.reshape(-1)
        owner = torch.searchsorted(starts, index, right=True) - 1  # [numel]: which foreign key each element is of
        for o in owner.unique().tolist():
            sel = owner == o
            key, pos, vals = keys[o], index[sel] - offsets[o], value[sel]
            out = flat.setdefault(key, torch.zeros(probe[key].numel(), dtype=value.dtype))
            seen = filled.setdefault(key, torch.zeros(probe[key].numel(), dtype=torch.bool))
            again = seen[pos]
            if bool(again.any()) and not torch.equal(out[pos[again]], vals[again].to(out.dtype)):
                raise NotAPermutationError(f'{key} is read into two beitmm weights (one is {dst}) whose values '
                                           'differ: no single foreign tensor gives both')
            out[pos] = vals.to(out.dtype)
            seen[pos] = True
    partial = [k for k, seen in filled.items() if not bool(seen.all())]
    if partial:
        raise NotAPermutationError(f'only part of {partial[0]} is read into beitmm weights: the rest would be '
                                   'undefined')
    foreign = {k: flat[k].view(tuple(foreign_shapes[k])) for k in keys if k in flat}
    return foreign, [k for k in keys if k not in flat]
