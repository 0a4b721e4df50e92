"""Adapting a beitmm-layout backbone state dict to a target model.

Helpers of :mod:`.convert`: patch-grid inference
from table lengths, shared/per-layer relative-position table placement,
geometric-sequence resizing of the tables, bicubic ``pos_embed`` resizing and
the final shape check.
"""
import re
from math import isqrt
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from beitmm.pos_embed import resize_abs_pos_embed, resize_rel_pos_bias_table

from ...report import ConversionReport

__all__ = [
    'ConversionReport', 'expand_shared_rel_pos_bias', 'infer_rel_pos_grid',
    'target_shapes', 'place_rel_pos_tables', 'resize_positions',
    'check_shapes'
]

StateDict = Dict[str, Tensor]
Target = Mapping[str, Union[torch.Size, Tensor, Sequence[int]]]
Grid = Optional[Sequence[int]]
SHARED_TABLE = 'rel_pos_bias.relative_position_bias_table'
_LAYER_TABLE = re.compile(r'^blocks\.(\d+)\.attn\.relative_position_bias_table$')


def expand_shared_rel_pos_bias(state_dict: Mapping[str, Tensor],
                               depth: int) -> StateDict:
    """Replace the shared table by a copy in each of ``depth`` blocks.

    Args:
        state_dict: beitmm-layout state dict.
        depth: Number of transformer blocks.

    Returns:
        dict: New dict with ``blocks.{i}.attn.relative_position_bias_table``
        for ``i < depth`` and no shared table.
    """
    out = dict(state_dict)
    if SHARED_TABLE not in out:
        raise ValueError(f'no shared table {SHARED_TABLE!r} to expand')
    shared = out.pop(SHARED_TABLE)  # [(2Wh-1)*(2Ww-1)+3, heads]
    for i in range(depth):
        out[f'blocks.{i}.attn.relative_position_bias_table'] = shared.clone()
    return out


def infer_rel_pos_grid(num_rows: int, num_extra_tokens: int = 3,
                       num_patches: Optional[int] = None,
                       name: str = 'grid') -> Tuple[int, int]:
    """Recover the patch grid ``(Wh, Ww)`` from a table length.

    ``num_rows = (2*Wh-1)*(2*Ww-1) + num_extra_tokens``.  A square grid is
    chosen when one fits (and matches ``num_patches`` if given); otherwise
    the factorisation must be unique given ``num_patches``.  Non-square
    grids are ambiguous in orientation, so pass them explicitly.

    Args:
        num_rows: Table length.
        num_extra_tokens: Trailing extra rows. Defaults to 3.
        num_patches: ``Wh*Ww`` hint, e.g. from pos_embed.
        name: Argument name quoted in errors. Defaults to 'grid'.

    Returns:
        tuple[int, int]: The grid.
    """
    area = num_rows - num_extra_tokens
    cands = [((a + 1) // 2, (area // a + 1) // 2)
             for a in range(1, area + 1, 2)
             if area % a == 0 and (area // a) % 2 == 1]
    if num_patches is not None:
        cands = [c for c in cands if c[0] * c[1] == num_patches]
    square = [c for c in cands if c[0] == c[1]]
    if square or len(cands) == 1:
        return (square or cands)[0]
    raise ValueError(
        f'cannot infer the patch grid of a relative position table with '
        f'{num_rows} rows (candidates {cands or "none"}); pass '
        f'{name}=(H, W) explicitly')


def target_shapes(target: Target) -> Dict[str, torch.Size]:
    """Normalise ``{name: tensor | shape}`` to ``{name: torch.Size}``."""
    return {
        k: v.shape if isinstance(v, Tensor) else torch.Size(v)
        for k, v in target.items()
    }


def resolve_grid(given: Grid, rows: Optional[int], pos_len: Optional[int],
                 name: str) -> Tuple[int, int]:
    """Patch grid from an explicit value, a table length or a pos_embed."""
    if given is not None:
        return int(given[0]), int(given[1])
    num_patches = pos_len - 1 if pos_len else None
    if rows is not None:
        return infer_rel_pos_grid(rows, 3, num_patches, name)
    if num_patches is not None and isqrt(num_patches)**2 == num_patches:
        return isqrt(num_patches), isqrt(num_patches)
    raise ValueError(f'cannot infer the patch grid for {name}; pass '
                     f'{name}=(H, W)')


def place_rel_pos_tables(out: StateDict, shapes: Dict[str, torch.Size],
                         report: ConversionReport) -> None:
    """Move tables between the shared and per-layer forms the target uses."""
    want_layers = sorted((k for k in shapes if _LAYER_TABLE.match(k)),
                         key=lambda k: int(_LAYER_TABLE.match(k)[1]))
    have_layers = sorted((k for k in out if _LAYER_TABLE.match(k)),
                         key=lambda k: int(_LAYER_TABLE.match(k)[1]))
    if SHARED_TABLE in out and SHARED_TABLE not in shapes:
        shared = out.pop(SHARED_TABLE)
        if want_layers and not have_layers:
            for key in want_layers:
                out[key] = shared.clone()
            report.notes.append(f'shared {SHARED_TABLE} copied into '
                                f'{len(want_layers)} per-layer tables')
        else:
            why = ('per-layer tables present' if have_layers else
                   'target model has no relative position bias')
            report.dropped.append((SHARED_TABLE, why))
    if SHARED_TABLE in shapes and SHARED_TABLE not in out and have_layers:
        first = out[have_layers[0]]
        if not all(torch.equal(out[k], first) for k in have_layers):
            raise ValueError(
                f'the checkpoint has {len(have_layers)} different per-layer '
                'relative position tables but the model uses one shared '
                f'table ({SHARED_TABLE}); build the model with '
                'use_rel_pos_bias=True, use_shared_rel_pos_bias=False')
        out[SHARED_TABLE] = first
        for key in have_layers:
            report.dropped.append((key, 'identical per-layer table merged '
                                   f'into {SHARED_TABLE}'))
            del out[key]
    elif not want_layers and SHARED_TABLE not in shapes:
        for key in have_layers:
            report.dropped.append(
                (key, 'target model has no relative position bias'))
            del out[key]


def _is_table(key: str) -> bool:
    return key == SHARED_TABLE or bool(_LAYER_TABLE.match(key))


def resize_positions(out: StateDict, shapes: Dict[str, torch.Size],
                     report: ConversionReport, src_grid: Grid,
                     dst_grid: Grid,
                     table_grids: Optional[Mapping[str, Grid]] = None
                     ) -> None:
    """Resize rel-pos tables and pos_embed to the target's patch grid.

    ``table_grids`` gives the grid of tables built for another grid than
    ``dst_grid`` (ViTDet's window blocks), by key.
    """
    table_grids = dict(table_grids or {})
    grids_differ = (src_grid is not None and dst_grid is not None
                    and tuple(src_grid) != tuple(dst_grid))

    def needs_resize(key: str) -> bool:
        if out[key].shape != shapes[key]:
            return True
        if key in table_grids:
            return src_grid is not None and tuple(src_grid) != tuple(table_grids[key])
        return grids_differ
    tables = [k for k in out if _is_table(k) and k in shapes and needs_resize(k)]
    pos = out.get('pos_embed')
    if pos is not None and 'pos_embed' not in shapes:
        del out['pos_embed']
        report.dropped.append(('pos_embed', 'target model uses no absolute '
                               'position embedding'))
        pos = None
    pos_resize = pos is not None and (pos.shape[1] != shapes['pos_embed'][1]
                                      or grids_differ)
    if not tables and not pos_resize:
        return
    src_rows = next((v.shape[0] for k, v in out.items() if _is_table(k)), None)
    dst_rows = next((s[0] for k, s in shapes.items()
                     if _is_table(k) and k not in table_grids), None)
    dst_pos = shapes.get('pos_embed')
    src = resolve_grid(src_grid, src_rows, None if pos is None else
                        pos.shape[1], 'src_grid')
    dst = resolve_grid(dst_grid, dst_rows, None if dst_pos is None else
                        dst_pos[1], 'dst_grid')
    for key in tables:
        old = out[key]  # [(2Hs-1)*(2Ws-1)+3, heads]
        if old.shape[1] != shapes[key][1]:
            raise ValueError(
                f'{key}: checkpoint {tuple(old.shape)} vs model '
                f'{tuple(shapes[key])}: different number of attention heads;'
                f' build the model with num_heads={old.shape[1]}')
        out[key] = resize_rel_pos_bias_table(old, src, table_grids.get(key, dst))
        report.resized.append((key, tuple(old.shape), tuple(out[key].shape)))
    if pos_resize and pos.shape[2] == shapes['pos_embed'][2]:
        out['pos_embed'] = resize_abs_pos_embed(pos, src, dst)
        report.resized.append(
            ('pos_embed', tuple(pos.shape), tuple(out['pos_embed'].shape)))


def check_shapes(out: StateDict, shapes: Dict[str, torch.Size]) -> None:
    """Raise ValueError naming the first key whose shape the model rejects."""
    for key, value in out.items():
        if key not in shapes or value.shape == shapes[key]:
            continue
        got, want = tuple(value.shape), tuple(shapes[key])
        if key.startswith('patch_embed.'):
            fix = ('patch size or input channels differ; build the model '
                   'with the checkpoint\'s patch_size / in_channels')
        elif key.endswith('relative_position_bias_table'):
            fix = ('the table does not match the model\'s patch grid; pass '
                   'dst_grid=(H, W) / src_grid=(H, W) explicitly')
        else:
            fix = ('the checkpoint comes from a different architecture '
                   '(embed dims / mlp ratio); build the model with the '
                   'checkpoint\'s arch')
        raise ValueError(f'{key}: checkpoint {got} vs model {want}: {fix}')
