"""Checkpoints into ``beitmm.VLMo`` / ``beitmm.VLBEiT`` (converter ``'vlmo'``).

Sources recognised:

- official VLMo files (microsoft/unilm ``vlmo/``, any of the ``state_dict`` / ``module`` / ``model`` wrappers,
  DeepSpeed ``module.`` prefixes): the backbone keys are VLMo's own and copied; its task heads (``pooler``,
  ``itc_*``, ``logit_*scale``, ``mlm_score``, ``itm_score``, ``vqa_classifier``, ``nlvr2_classifier``) are dropped
  and reported by a backbone conversion, copied by a whole-model one where the model has them (VLMo's fine-tuning
  start: ``VLBaseModel(pretrained_heads=True)``; VLMo pretraining). A beitmm checkpoint of the tied MLM head (no
  ``mlm_score.decoder.weight``) gives the untied decoder its word embedding, which is the head it was. NLVR2's three
  token types fit a two-type model (first two rows) and vice versa (the new image type
  copies type 1, as VLMo's NLVR2 set-up does); the unused BERT position table is cut to ``max_text_len`` as VLMo
  does;
- stage-2 (text-only) checkpoints: no VL expert (``mlp_vl`` / ``norm2_vl``); reported as initialised by the model,
  which is what VLMo's stage 3 does (it loads them with ``strict=False``);
- BEiT-family checkpoints (every layout of :mod:`.beit.layouts`), VLMo's stage-1 initialisation
  (``convert_to_textpt_ckpt``): ``mlp`` -> ``mlp_imag``, ``norm2`` -> ``norm2_imag``, ``transformer.`` prefix,
  per-layer tables (a shared one is expanded first) concatenated per layer into the image rows of the merged
  table; its text and cross rows keep VLMo's initialisation (0). Language / VL experts and text embeddings are
  reported as initialised by the model. A per-token final ``norm`` (pretraining files) becomes
  ``transformer.norm``; a mean-pooling norm (unilm / timm ``fc_norm``, HF ``pooler.layernorm``, mmpretrain
  ``ln2``) does not: VLMo's converter keeps it as ``transformer.fc_norm``, which ``load_state_dict(strict=False)``
  ignores, so ``transformer.norm`` stays at its init (LayerNorm 1 / 0), reported as re-initialised. (A beitmm
  classifier checkpoint stores its pooling norm as ``norm`` and cannot be told apart: start from a pretraining
  or an official file.)

The image part of the merged relative position table is resized to the model's patch grid with BEiT's geometric
method (:func:`beitmm.pos_embed.resize_vlmo_table`, also used by the model for other input sizes at run time).
"""
import re
from typing import Mapping, Optional, Tuple

import torch
from torch import Tensor

from beitmm.pos_embed import CROSS_ROWS, rel_pos_table_len, resize_rel_pos_bias_table, resize_vlmo_table
from beitmm.registry import CHECKPOINT_CONVERTERS

from ..converters import CheckpointConverter, ConversionTarget, StateDict
from ..report import ConversionReport, split_model_state
from .beit.adapt import SHARED_TABLE, expand_shared_rel_pos_bias, infer_rel_pos_grid
from .beit.layouts import detect_format, to_beitmm_layout

TABLE = 'relative_position_bias_table'
TOKEN_TYPES = 'token_type_embeddings.weight'
TEXT_POSITIONS = 'text_embeddings.position_embeddings.weight'
POSITION_IDS = 'text_embeddings.position_ids'
MASK_TOKEN = 'transformer.mask_token'
_HEADS = re.compile(r'^(pooler|itc_\w+_proj|mlm_score|itm_score|vqa_classifier|nlvr2_classifier)\.'
                    r'|^logit_(vl_)?scale$')
_VL = re.compile(r'^transformer\.blocks\.\d+\.(mlp_vl|norm2_vl)\.')
_BEIT_TABLE = re.compile(r'^blocks\.(\d+)\.attn\.relative_position_bias_table$')
_BEIT_RULES = [(re.compile(r'^blocks\.(\d+)\.norm2\.'), r'transformer.blocks.\1.norm2_imag.'),
               (re.compile(r'^blocks\.(\d+)\.mlp\.'), r'transformer.blocks.\1.mlp_imag.'),
               (re.compile(r'^'), 'transformer.')]  # VLMo's convert_to_textpt_ckpt: everything else prefixed
_FRESH_FROM_BEIT = [(re.compile(r'\.(mlp|norm2)_text\.'), 'language expert: BEiT has none (VLMo stage 2 trains it)'),
                    (_VL, 'VL expert: BEiT has none (VLMo stage 3 trains it)'),
                    (re.compile(r'^(text_embeddings|token_type_embeddings)\.'), 'text / token-type embeddings: BEiT '
                     'has none')]
# BEiT's mean-pooling norm by layout (before renaming); VLMo's stage-1 start leaves transformer.norm at its init
_POOLING_NORM = dict(unilm=r'^fc_norm\.', timm=r'^fc_norm\.', beitmm=r'^fc_norm\.', mmpretrain=r'^ln2\.',
                     mmseg=r'^ln2\.', hf=r'^((beit|data2vec_vision)\.)?pooler\.layernorm\.')
FINAL_NORM = ('transformer.norm.weight', 'transformer.norm.bias')
DECODER, WORDS = 'mlm_score.decoder.weight', 'text_embeddings.word_embeddings.weight'
_OTHER_FAMILIES = [(re.compile(r'(^|\.)encoder\.layers\.\d+\.|(^|\.)(text_embed|vision_embed)\.|\.attn\.norm\.'),
                    'a BEiT-3 checkpoint: load it into beitmm.BEiT3')]


def _source_grid(rows: int, rel_pos_text_len: int) -> Tuple[int, int]:
    image_rows = rows - CROSS_ROWS - 2 * rel_pos_text_len
    try:
        return infer_rel_pos_grid(image_rows, 3, name='the checkpoint image grid')
    except ValueError as err:
        raise ValueError(f'{TABLE} of the checkpoint has {rows} rows, which is no image grid plus 2 cross rows and '
                         f'2 x {rel_pos_text_len} text rows: build the model with the checkpoint\'s '
                         'rel_pos_text_len (VLMo max_text_len_of_initckpt)') from err


def _fit_table(table: Tensor, target: ConversionTarget, report: ConversionReport) -> Tensor:
    want = target.shapes[TABLE]
    if table.shape[1] != want[1]:
        raise ValueError(f'{TABLE}: checkpoint {tuple(table.shape)} vs model {tuple(want)}: another number of '
                         'heads x layers; build the model with the checkpoint\'s arch')
    src_grid = _source_grid(table.shape[0], target.extra['rel_pos_text_len'])
    out = resize_vlmo_table(table, src_grid, target.grid)
    if out.shape != want:
        raise ValueError(f'{TABLE}: checkpoint {tuple(table.shape)} gives {tuple(out.shape)} for the model grid '
                         f'{target.grid}, the model has {tuple(want)}')
    if out is not table:
        report.resized.append((TABLE, tuple(table.shape), tuple(out.shape)))
        report.notes.append(f'image rows of {TABLE} resized from {src_grid} to {target.grid} (BEiT geometric)')
    return out


def _fit_rows(out: StateDict, shapes: Mapping[str, torch.Size], report: ConversionReport) -> None:
    """Token types (NLVR2 grows them to 3) and the unused BERT position table (cut to max_text_len)."""
    for key in (TOKEN_TYPES, TEXT_POSITIONS):
        if key not in out or key not in shapes or out[key].shape == shapes[key]:
            continue
        old, rows = out[key], shapes[key][0]
        if old.shape[1:] != shapes[key][1:]:
            continue  # the shape check names it
        if old.shape[0] >= rows:
            out[key] = old[:rows]
        elif key == TOKEN_TYPES:  # a further image type starts as the image type, as VLMo's NLVR2 does
            out[key] = torch.cat([old, old[1:2].expand(rows - old.shape[0], -1)], dim=0)
        else:
            del out[key]
            report.reinitialised.append((key, f'checkpoint has {old.shape[0]} text positions, the model {rows} '
                                        '(unused with relative positions)'))
            continue
        report.resized.append((key, tuple(old.shape), tuple(out[key].shape)))


def _from_vlmo(state: Mapping[str, Tensor], target: ConversionTarget) -> Tuple[StateDict, ConversionReport]:
    out, report = {}, ConversionReport('vlmo')
    for key, value in state.items():
        if _HEADS.match(key):
            report.dropped.append((key, 'VLMo task head (the backbone has none)'))
        elif key.endswith(('relative_position_index', 'token_type_ids')):
            report.dropped.append((key, 'derived buffer, rebuilt by the model'))
        else:
            out[key] = value
    want_vl = [k for k in target.shapes if _VL.match(k)]
    if want_vl and not any(_VL.match(k) for k in out):
        report.source_format = 'vlmo stage 2 (text-only, no VL expert)'
        report.reinitialised += [(k, 'no VL expert in a stage-2 checkpoint: initialised by the model, as VLMo '
                                  'does') for k in want_vl]
    if TABLE in out and TABLE in target.shapes:
        out[TABLE] = _fit_table(out[TABLE], target, report)
    return out, report


def _merge_beit_tables(beit: StateDict, target: ConversionTarget, report: ConversionReport) -> Optional[Tensor]:
    if SHARED_TABLE in beit:
        beit.update(expand_shared_rel_pos_bias(beit, target.extra['num_layers']))
        del beit[SHARED_TABLE]
        report.notes.append(f'shared BEiT table expanded into {target.extra["num_layers"]} layers')
    tables = {int(m[1]): beit.pop(k) for k in list(beit) if (m := _BEIT_TABLE.match(k))}
    if not tables:
        return None
    if sorted(tables) != list(range(target.extra['num_layers'])):
        raise ValueError(f'the BEiT checkpoint has relative position tables for layers {sorted(tables)}, the model '
                         f'{target.extra["num_layers"]} layers: build it with the checkpoint\'s depth')
    merged = torch.cat([tables[i] for i in sorted(tables)], dim=1)  # [(2H-1)(2W-1)+3, heads * layers]
    want = target.shapes[TABLE]
    if merged.shape[1] != want[1]:
        raise ValueError(f'BEiT tables give {merged.shape[1]} heads x layers, the model {want[1]}: build it with the '
                         "checkpoint's num_heads")
    src_grid = infer_rel_pos_grid(merged.shape[0], 3, name='the BEiT checkpoint grid')
    if tuple(src_grid) != tuple(target.grid):
        report.resized.append((TABLE, tuple(merged.shape), (rel_pos_table_len(target.grid), want[1])))
        merged = resize_rel_pos_bias_table(merged, src_grid, target.grid)
    full = torch.zeros(want, dtype=merged.dtype)  # VLMo's init of the text and cross rows
    full[:merged.shape[0]] = merged
    report.notes.append(f'BEiT per-layer tables merged into the image rows of {TABLE}; text and cross rows 0 '
                        "(VLMo's initialisation)")
    return full


def _from_beit(state: Mapping[str, Tensor], target: ConversionTarget) -> Tuple[StateDict, ConversionReport]:
    for pattern, family in _OTHER_FAMILIES:
        if any(pattern.search(k) for k in state):
            raise ValueError(f'not a VLMo or BEiT checkpoint: it looks like {family}')
    try:
        fmt = detect_format(state)
    except ValueError as err:
        raise ValueError(f'not a VLMo checkpoint (no transformer.blocks.N. keys) nor a BEiT one (VLMo\'s stage-1 '
                         f'initialisation): first keys {list(state)[:5]}') from err
    pooling = [k for k in state if re.match(_POOLING_NORM[fmt], k)]
    beit, renamed, dropped = to_beitmm_layout({k: v for k, v in state.items() if k not in pooling}, fmt)
    report = ConversionReport(f'beit ({fmt}) as VLMo stage-1 init', renamed, dropped=dropped)
    report.dropped += [(k, "BEiT's mean-pooling norm: VLMo's convert_to_textpt_ckpt maps it to transformer.fc_norm, "
                           'which VLMo lacks (strict=False)') for k in pooling]
    table = _merge_beit_tables(beit, target, report)
    out = {}
    for key, value in beit.items():
        if key == 'pos_embed':
            report.dropped.append((key, 'absolute image positions: VLMo base / large use relative ones only'))
            continue
        pattern, repl = next((p, r) for p, r in _BEIT_RULES if p.match(key))
        out[pattern.sub(repl, key, count=1)] = value
        report.renamed += 1
    if table is not None:
        out[TABLE] = table
    elif TABLE in target.shapes:
        report.reinitialised.append((TABLE, 'the BEiT checkpoint has no relative position tables'))
    for key in FINAL_NORM:
        if key in target.shapes and key not in out:
            report.reinitialised.append((key, 'the BEiT checkpoint has no per-token final norm: VLMo leaves '
                                              'transformer.norm at its init (LayerNorm 1 / 0)'))
    for key in target.shapes:
        why = next((w for p, w in _FRESH_FROM_BEIT if p.search(key)), None)
        if why and key not in out and key != POSITION_IDS:
            report.reinitialised.append((key, f'{why}: initialised by the model'))
    return out, report


def convert_vlmo_backbone(state_dict: Mapping[str, Tensor], target: ConversionTarget,
                          strict: bool = False) -> Tuple[StateDict, ConversionReport]:
    """Convert a VLMo, stage-2 or BEiT checkpoint to a VLMo backbone (see the module docstring).

    Args:
        state_dict: Flat source state dict (wrappers removed).
        target: The backbone's target (``extra``: ``rel_pos_text_len``, ``num_layers``).
        strict: Raise when keys are missing or unexpected.

    Returns:
        The backbone state dict and the report.
    """
    shapes = target.shapes
    if any(k.startswith('transformer.blocks.') for k in state_dict):
        out, report = _from_vlmo(state_dict, target)
    else:
        out, report = _from_beit(state_dict, target)
    _fit_rows(out, shapes, report)
    if POSITION_IDS in shapes:  # derived buffer: HF's arange
        out[POSITION_IDS] = torch.arange(shapes[POSITION_IDS][-1]).expand(shapes[POSITION_IDS]).clone()
    if MASK_TOKEN in shapes and MASK_TOKEN not in out:
        report.reinitialised.append((MASK_TOKEN, 'the checkpoint has no mask token: initialised by the model'))
    if MASK_TOKEN in out and MASK_TOKEN not in shapes:
        del out[MASK_TOKEN]
        report.dropped.append((MASK_TOKEN, 'the model has no mask token (use_mask_token=False)'))
    for key, value in out.items():
        if key in shapes and value.shape != shapes[key]:
            raise ValueError(f'{key}: checkpoint {tuple(value.shape)} vs model {tuple(shapes[key])}: the checkpoint '
                             'comes from another architecture (arch, patch_size, vocab_size); build the model with '
                             "the checkpoint's settings")
    return report.settle(out, shapes, strict, 'the VLMo backbone'), report


@CHECKPOINT_CONVERTERS.register_module(name='vlmo')
class VLMoConverter(CheckpointConverter):
    """Official VLMo, stage-2 and BEiT checkpoints to ``beitmm.VLMo`` / ``beitmm.VLBEiT``."""

    name = 'vlmo'

    def convert_backbone(self, state_dict: Mapping[str, Tensor], target: ConversionTarget,
                         strict: bool = False) -> Tuple[StateDict, ConversionReport]:
        """See :meth:`CheckpointConverter.convert_backbone`."""
        return convert_vlmo_backbone(state_dict, target, strict)

    def convert_model(self, state_dict: Mapping[str, Tensor], shapes: Mapping[str, torch.Size],
                      backbone_prefix: str, target: ConversionTarget,
                      strict: bool = False) -> Tuple[StateDict, ConversionReport]:
        """See :meth:`CheckpointConverter.convert_model`; other keys are copied when the model has them."""
        own, backbone, rest = split_model_state(state_dict, backbone_prefix)
        if not own:  # VLMo's own files: its task heads sit beside the backbone keys, under their names
            rest = {k: v for k, v in backbone.items() if _HEADS.match(k)}
            backbone = {k: v for k, v in backbone.items() if not _HEADS.match(k)}
        bb_out, report = convert_vlmo_backbone(backbone, target, strict)
        words = bb_out.get(WORDS)
        if DECODER in shapes and DECODER not in rest and words is not None and any(k.startswith('mlm_score.')
                                                                                   for k in rest):
            rest = {**rest, DECODER: words}  # a tied head: its decoder was the word embedding
            report.notes.append(f'{DECODER} from {WORDS}: the checkpoint has a tied MLM head (beitmm before the '
                                "untied VLMo head), whose decoder is the word embedding")
        out = report.whole_model(bb_out, rest, shapes, backbone_prefix, own)
        return out, report
