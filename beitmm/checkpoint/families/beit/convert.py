"""Convert BEiT-family checkpoints to beitmm's layout and a target model.

All functions are pure ``state_dict -> state_dict`` transforms.  Keys are
renamed by :mod:`.layouts`, then adapted to the target model given as
``{name: shape}`` (e.g. ``model.state_dict()``) by :mod:`.adapt`: the
shared relative-position table is copied into every layer (per-layer tables
are merged only when identical), tables are resized with the
geometric-sequence bicubic method, ``pos_embed`` is resized bicubically, and
keys the target lacks are dropped.  Every step is recorded in a
:class:`ConversionReport`.  :class:`BEiTConverter` (registered as ``'beit'``)
is what ``beitmm.BEiT`` names as its ``checkpoint_converter``.
"""
import re
from typing import Mapping, Optional, Sequence, Tuple

from torch import Tensor

from beitmm.registry import CHECKPOINT_CONVERTERS

from ...converters import CheckpointConverter, ConversionTarget
from ...report import ConversionReport
from .adapt import (
    Grid,
    StateDict,
    Target,
    check_shapes,
    expand_shared_rel_pos_bias,
    place_rel_pos_tables,
    resize_positions,
    target_shapes,
)
from .layouts import detect_format, hf_task_key, to_beitmm_layout

__all__ = [
    'ConversionReport', 'convert_layout', 'expand_shared_rel_pos_bias',
    'convert_backbone_state_dict', 'convert_model_state_dict',
    'convert_checkpoint', 'detect_format', 'BEiTConverter'
]

# official unilm / HF segmentation FPN -> mmseg Feature2Pyramid; HF's segmentation classifiers
# (its converter renamed unilm's conv_seg to classifier) -> mmseg's conv_seg. HF keys are first given their
# transformers 4 names (layouts.hf_task_key), which are otherwise mmseg's UPerHead / FCNHead ones.
_NECK = [(re.compile(r'^fpn1\.(\d+)\.'), r'neck.upsample_4x.\1.'),
         (re.compile(r'^fpn2\.(\d+)\.'), r'neck.upsample_2x.\1.'),
         (re.compile(r'^(decode_head|auxiliary_head)\.classifier\.'), r'\1.conv_seg.')]
_HF_TASK = re.compile(r'^(fpn\d*|decode_head|auxiliary_head)\.')  # fpn.fpn1: transformers 5
_BACKBONE_KEY = re.compile(
    r'^((blocks|layers)\.\d+\.|(beit|data2vec_vision)\.|encoder\.layer\.)')
_HEAD_CANDIDATES = ('head.fc.', 'head.')


def convert_layout(state_dict: Mapping[str, Tensor],
                   src_format: Optional[str] = None
                   ) -> Tuple[StateDict, ConversionReport]:
    """Translate a backbone state dict to beitmm key names only.

    Args:
        state_dict: Bare backbone state dict.
        src_format: Source layout; detected when None.

    Returns:
        tuple[dict, ConversionReport]: Renamed dict (shared table kept as
        is, nothing resized) and its report.
    """
    fmt = src_format or detect_format(state_dict)
    out, renamed, dropped = to_beitmm_layout(state_dict, fmt)
    return out, ConversionReport(fmt, renamed, dropped=dropped)


def _backbone_part(state_dict: Mapping[str, Tensor]
                   ) -> Tuple[StateDict, Sequence[str]]:
    """Backbone sub-dict of a whole-model dict given to the backbone API."""
    keys = list(state_dict)
    if (any(_BACKBONE_KEY.match(k) for k in keys)
            or not any(k.startswith('backbone.') for k in keys)):
        return dict(state_dict), []
    part = {k[len('backbone.'):]: v
            for k, v in state_dict.items() if k.startswith('backbone.')}
    return part, [k for k in keys if not k.startswith('backbone.')]


def convert_backbone_state_dict(
        state_dict: Mapping[str, Tensor],
        target: Target,
        src_format: Optional[str] = None,
        *,
        src_grid: Grid = None,
        dst_grid: Grid = None,
        pooled_norm: bool = False,
        others: Sequence[str] = (),
        strict: bool = False,
        table_grids: Optional[Mapping[str, Tuple[int, int]]] = None) -> Tuple[StateDict, ConversionReport]:
    """Convert a backbone checkpoint of any supported layout to a target.

    Steps: rename to beitmm's layout; copy a shared relative-position table
    into every per-layer table of the target (per-layer tables into a shared
    target only when all are equal, else ValueError); resize tables and
    ``pos_embed`` to the target's patch grid; drop ``mask_token`` /
    ``pos_embed`` / tables the target has no use for.  A dict whose backbone
    sits under ``backbone.`` is accepted (other keys are dropped).

    Patch grids are inferred from table lengths (square when possible) and
    ``pos_embed`` lengths; pass ``src_grid`` / ``dst_grid`` for non-square
    grids, which table lengths alone cannot identify.

    Args:
        state_dict: Flat source state dict.
        target: The backbone's ``{name: shape or tensor}``.
        src_format: Source layout; detected when None.
        src_grid: Source patch grid (H, W).
        dst_grid: Target patch grid (H, W).
        pooled_norm: The target applies its final ``norm`` after mean
            pooling (unilm's ``fc_norm``). A pretraining checkpoint's final
            norm is per-token; unilm / timm / mmpretrain fine-tuning leave the
            pooled norm at its initialisation (identity), so it is then
            reported as re-initialised instead of copied. Defaults to False.
        others: Keys of a whole-model checkpoint outside its
            backbone (they tell a pretraining checkpoint). Defaults to ().
        strict: Raise ValueError when keys are missing or
            unexpected. Defaults to False.
        table_grids: Per-key patch grid of tables built for another grid
            than ``dst_grid`` (ViTDet's window blocks: one window).

    Returns:
        tuple[dict, ConversionReport]: State dict holding only target keys
        with target shapes, and the report.
    """
    state, outside = _backbone_part(state_dict)
    out, report = convert_layout(state, src_format)
    report.dropped += [(k, 'outside the backbone') for k in outside]
    if (pooled_norm and not _has_hf_pooled_norm(state)
            and is_pretraining_checkpoint(out, [*outside, *state, *others])):
        for key in [k for k in out if k.startswith('norm.')]:
            del out[key]
            report.reinitialised.append(
                (key, 'per-token final norm of a pretraining checkpoint; '
                 'the mean-pooled norm starts at identity as in unilm fine-tuning'))
    shapes = target_shapes(target)
    place_rel_pos_tables(out, shapes, report)
    resize_positions(out, shapes, report, src_grid, dst_grid, table_grids)
    if 'mask_token' in out and 'mask_token' not in shapes:
        del out['mask_token']
        report.dropped.append(('mask_token', 'target model has no mask token '
                               '(not built for masked image modeling)'))
    check_shapes(out, shapes)
    return report.settle(out, shapes, strict), report


def _has_hf_pooled_norm(state_dict: Mapping[str, Tensor]) -> bool:
    """Whether an HF dict has ``pooler.layernorm``, the norm after mean pooling (BeitPooler).

    That norm is copied even when the dict also holds a shared relative position table, which otherwise marks a
    pretraining checkpoint whose per-token norm a mean-pooled target does not take.
    """
    return any(re.search(r'(^|\.)pooler\.layernorm\.', k) for k in state_dict)


# Keys only a masked-image-modeling checkpoint has (after renaming to beitmm's layout), and
# whole-model keys of beitmm's / mmpretrain's pretraining algorithms.
_PRETRAIN_BACKBONE_KEYS = ('mask_token', 'rel_pos_bias.relative_position_bias_table')
_PRETRAIN_OTHER = re.compile(r'^(lm_head\.|cls_pt_|target_generator\.|neck\.cls_pt_layers\.|generator\.)')


def is_pretraining_checkpoint(backbone: Mapping[str, Tensor],
                              others: Sequence[str] = ()) -> bool:
    """Whether a (renamed) backbone dict comes from a pretraining checkpoint.

    Args:
        backbone: beitmm-layout backbone keys.
        others: Keys of the checkpoint outside the backbone.

    Returns:
        bool: True for MIM / CIM / BEiT v2 pretraining checkpoints (mask
        token, shared relative position table, LM head, CLS branch, target
        generator or CIM generator present).
    """
    return (any(k in backbone for k in _PRETRAIN_BACKBONE_KEYS)
            or any(_PRETRAIN_OTHER.match(k) for k in others))


def _split_model(state_dict: Mapping[str, Tensor], fmt: str, prefix: str
                 ) -> Tuple[StateDict, StateDict, bool, int]:
    """Split into (backbone, other keys, is whole-model, renamed count).

    The unilm / HF segmentation FPN becomes mmseg ``neck.*`` keys.
    """
    whole = any(k.startswith(prefix) for k in state_dict)
    if whole:
        backbone = {k[len(prefix):]: v for k, v in state_dict.items()
                    if k.startswith(prefix)}
        rest = {k: v for k, v in state_dict.items() if not k.startswith(prefix)}
    else:
        rest = {k: v for k, v in state_dict.items()
                if fmt == 'hf' and _HF_TASK.match(k)}
        backbone = {k: v for k, v in state_dict.items() if k not in rest}
    renamed = 0
    for src in (backbone, rest):
        for key in list(src):
            new = _task_key(key, fmt)
            if new != key:
                rest[new] = src.pop(key)
                renamed += 1
    return backbone, rest, whole, renamed


def _task_key(key: str, fmt: str) -> str:
    """Name a segmentation FPN / HF head key as mmseg does (HF: transformers 4 name first); others unchanged."""
    if fmt == 'hf' and _HF_TASK.match(key):
        key = hf_task_key(key)
    for pattern, repl in _NECK:
        if pattern.match(key):
            return pattern.sub(repl, key)
    return key


def _take_head(backbone: StateDict, rest: StateDict, shapes: Mapping,
               fmt: str) -> int:
    """Move a bare checkpoint's classifier to the target's head name."""
    src = {'hf': 'classifier.', 'unilm': 'head.', 'timm': 'head.'}.get(fmt)
    moved = 0
    for suffix in ('weight', 'bias'):
        dst = next((p + suffix for p in _HEAD_CANDIDATES
                    if p + suffix in shapes), None)
        if src is None or src + suffix not in backbone or dst is None:
            continue
        rest[dst] = backbone.pop(src + suffix)
        moved += dst != src + suffix
    return moved


def convert_model_state_dict(
        state_dict: Mapping[str, Tensor],
        target: Target,
        backbone_prefix: str = 'backbone.',
        *,
        src_grid: Grid = None,
        dst_grid: Grid = None,
        pooled_norm: bool = False,
        strict: bool = False,
        table_grids: Optional[Mapping[str, Tuple[int, int]]] = None) -> Tuple[StateDict, ConversionReport]:
    """Convert a whole-model or bare-backbone checkpoint to a whole model.

    Whole-model checkpoints keep their backbone under ``backbone_prefix``
    (unilm ADE20K, mmseg / mmpretrain / beitmm models); bare ones (unilm
    pretraining or fine-tuning, timm, HF) get the prefix.  The backbone goes
    through :func:`convert_backbone_state_dict`; the official / HF
    segmentation FPN ``fpn1.{0,1,3}`` / ``fpn2.0`` becomes mmseg's
    ``neck.upsample_4x`` / ``neck.upsample_2x`` (incl. BN running stats); a
    bare checkpoint's classifier is mapped to the target's ``head.fc.*`` or
    ``head.*``; HF's segmentation ``classifier`` becomes ``conv_seg`` (HF
    transformers 5 FPN / head names, ``fpn.fpn1.conv_transpose1``,
    ``psp_bottleneck``, ``convolution`` / ``normalization``, get their
    transformers 4 names first, which are mmseg's).
    Non-backbone keys the target lacks are dropped with a reason; those it
    has with another shape (a head whose class count changed) are reported
    as re-initialised.

    Args:
        state_dict: Flat source state dict.
        target: The model's ``{name: shape or tensor}``.
        backbone_prefix: Where the backbone sits in both models.
            Defaults to 'backbone.'.
        src_grid: Source patch grid (H, W).
        dst_grid: Target patch grid (H, W).
        pooled_norm: See :func:`convert_backbone_state_dict`.
        strict: Raise ValueError when backbone keys are missing or
            unexpected. Defaults to False.
        table_grids: Per-key table grids of the backbone (see :func:`convert_backbone_state_dict`).

    Returns:
        tuple[dict, ConversionReport]: Loadable state dict and the report
        (backbone and other keys with their full names).
    """
    prefix = backbone_prefix
    shapes = target_shapes(target)
    fmt = detect_format(state_dict)
    backbone, rest, whole, renamed = _split_model(state_dict, fmt, prefix)
    if not whole:
        renamed += _take_head(backbone, rest, shapes, fmt)
    backbone_shapes = {k[len(prefix):]: s for k, s in shapes.items()
                       if k.startswith(prefix)}
    bb_out, report = convert_backbone_state_dict(
        backbone, backbone_shapes, fmt, src_grid=src_grid, dst_grid=dst_grid,
        pooled_norm=pooled_norm, others=list(rest), table_grids=table_grids)
    report.renamed += renamed
    report.add_prefix(prefix, prefix if whole else '')
    out = {prefix + k: v for k, v in bb_out.items()}
    report.take_heads(out, rest, shapes)
    report.note_missing(out, shapes)
    if strict and (report.unexpected or any(
            k.startswith(prefix) for k in report.missing)):
        raise ValueError('checkpoint does not cover the backbone exactly:\n' +
                         report.table())
    return out, report


def convert_checkpoint(state_dict: Mapping[str, Tensor],
                       src_format: Optional[str] = None,
                       *,
                       src_grid: Grid = None,
                       dst_grid: Grid = None,
                       expand_depth: Optional[int] = None,
                       backbone_prefix: str = 'backbone.'
                       ) -> Tuple[StateDict, ConversionReport]:
    """Offline conversion to beitmm's layout without a target model.

    The backbone is renamed (:func:`convert_layout`); the shared table stays
    shared unless ``expand_depth`` is given; tables and ``pos_embed`` are
    resized only when ``dst_grid`` is given.  Whole-model checkpoints keep
    their non-backbone keys (FPN renamed to ``neck.*``).

    Args:
        state_dict: Flat source state dict.
        src_format: Source layout; detected when None.
        src_grid: Source patch grid (H, W).
        dst_grid: Patch grid to resize to.
        expand_depth: Copy a shared table into this many
            per-layer tables.
        backbone_prefix: Backbone prefix of whole-model checkpoints.
            Defaults to 'backbone.'.

    Returns:
        tuple[dict, ConversionReport]: Converted dict and report.
    """
    fmt = src_format or detect_format(state_dict)
    backbone, rest, whole, renamed = _split_model(state_dict, fmt,
                                                  backbone_prefix)
    out, report = convert_layout(backbone, fmt)
    report.renamed += renamed
    if expand_depth:
        out = expand_shared_rel_pos_bias(out, expand_depth)
        report.notes.append(f'shared table copied into {expand_depth} layers')
    if dst_grid is not None:
        shapes = {k: v.shape for k, v in out.items()}
        rows = (2 * dst_grid[0] - 1) * (2 * dst_grid[1] - 1) + 3
        for key in shapes:
            if key.endswith('relative_position_bias_table'):
                shapes[key] = (rows, shapes[key][1])
        if 'pos_embed' in shapes:
            chans = shapes['pos_embed'][2]
            shapes['pos_embed'] = (1, 1 + dst_grid[0] * dst_grid[1], chans)
        out, resized = convert_backbone_state_dict(
            out, shapes, 'beitmm', src_grid=src_grid, dst_grid=dst_grid)
        report.resized = resized.resized
    if whole:
        report.dropped = [(backbone_prefix + k, why)
                          for k, why in report.dropped]
    if whole or rest:
        out = {backbone_prefix + k: v for k, v in out.items()}
        out.update(rest)
    return out, report


@CHECKPOINT_CONVERTERS.register_module(name='beit')
class BEiTConverter(CheckpointConverter):
    """Every BEiT-family layout (unilm, timm, HF, mmpretrain, mmseg, beitmm) to ``beitmm.BEiT``."""

    name = 'beit'

    def convert_backbone(self, state_dict: Mapping[str, Tensor],
                         target: ConversionTarget,
                         strict: bool = False
                         ) -> Tuple[StateDict, ConversionReport]:
        """See :meth:`CheckpointConverter.convert_backbone`."""
        return convert_backbone_state_dict(
            state_dict, target.shapes, dst_grid=target.grid,
            pooled_norm=target.pooled_norm, strict=strict,
            table_grids=target.extra.get('table_grids'))

    def convert_model(self, state_dict: Mapping[str, Tensor],
                      shapes: Mapping, backbone_prefix: str,
                      target: ConversionTarget, strict: bool = False
                      ) -> Tuple[StateDict, ConversionReport]:
        """See :meth:`CheckpointConverter.convert_model`."""
        return convert_model_state_dict(
            state_dict, shapes, backbone_prefix, dst_grid=target.grid,
            pooled_norm=target.pooled_norm, strict=strict,
            table_grids=target.extra.get('table_grids'))
