"""BEiT-3 checkpoints (unilm task models, torchscale state dicts, timm's vision branch) to ``beitmm.BEiT3``.

Layouts recognised:

- ``beitmm`` / torchscale: ``text_embed.*``, ``vision_embed.*``, ``encoder.{embed_positions,layers,layer_norm}.*``
  with ``.A`` (vision) / ``.B`` (language) experts: beitmm.BEiT3's own names, copied as they are;
- ``unilm``: the same under ``beit3.`` (``BEiT3For*`` task models, inside ``model`` / ``module``), task heads
  (``head``, ``pooler``, ``vision_head``, ``language_head``, ``logit_scale``, ``mlm_head``, ``fc_norm``) beside it;
- ``timm``: timm's ``beit3_*`` VisionTransformer (timm's ``_convert_beit3`` remap, vision expert only): fused
  ``qkv``, ``norm1`` / ``norm2``, ``attn.norm`` / ``mlp.norm`` sub-LNs, ``pos_embed`` without the two fairseq
  offset rows (rows 0 and 1 of the vision table are never read: vision positions start at 2).

The vision position table is resized bicubically to the model's patch grid, keeping the 2 offset rows and the cls
row; a branch the model was built without (``modalities``) is dropped with its reason.
"""
import re
from typing import Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor

from beitmm.pos_embed import resize_abs_pos_embed
from beitmm.registry import CHECKPOINT_CONVERTERS

from ..converters import CheckpointConverter, ConversionTarget
from ..report import ConversionReport, split_model_state

StateDict = Dict[str, Tensor]
POS_OFFSET = 2
_OWN = re.compile(r'^(text_embed\.|vision_embed\.|encoder\.(embed_positions|layers|layer_norm)\.)')
_TIMM = [  # timm name -> beitmm / torchscale name (vision expert A), inverse of timm's _convert_beit3
    (r'^cls_token$', 'vision_embed.cls_token'),
    (r'^patch_embed\.proj\.', 'vision_embed.proj.'),
    (r'^blocks\.(\d+)\.norm1\.', r'encoder.layers.\1.self_attn_layer_norm.A.'),
    (r'^blocks\.(\d+)\.attn\.norm\.', r'encoder.layers.\1.self_attn.inner_attn_ln.A.'),
    (r'^blocks\.(\d+)\.attn\.proj\.', r'encoder.layers.\1.self_attn.out_proj.A.'),
    (r'^blocks\.(\d+)\.norm2\.', r'encoder.layers.\1.final_layer_norm.A.'),
    (r'^blocks\.(\d+)\.mlp\.norm\.', r'encoder.layers.\1.ffn.A.ffn_layernorm.'),
    (r'^blocks\.(\d+)\.mlp\.(fc1|fc2)\.', r'encoder.layers.\1.ffn.A.\2.'),
    (r'^norm\.', 'encoder.layer_norm.A.'),
]
_TIMM_QKV = re.compile(r'^blocks\.(\d+)\.attn\.qkv\.(weight|bias)$')
_HEADS = re.compile(r'^(head|pooler|vision_head|language_head|logit_scale|mlm_head|fc_norm)\b')


def detect_beit3_format(state: Mapping[str, Tensor]) -> str:
    """'unilm' (``beit3.`` prefix), 'beitmm' (torchscale names) or 'timm'; raises for other families."""
    keys = list(state)
    if any(k.startswith('beit3.') for k in keys):
        return 'unilm'
    if any(_OWN.match(k) for k in keys):
        return 'beitmm'
    if any(_TIMM_QKV.match(k) for k in keys) and any('.attn.norm.' in k for k in keys):
        return 'timm'
    if any('.mlp_imag.' in k for k in keys):
        hint = 'this looks like a VLMo checkpoint: load it into beitmm.VLMo'
    elif any('.attn.q_bias' in k for k in keys):
        hint = 'this looks like a BEiT (v1 / v2) checkpoint: build a beitmm.BEiT'
    else:
        hint = f'first keys: {keys[:4]}'
    raise ValueError(f'not a BEiT-3 checkpoint: no beit3.*, encoder.layers.N.self_attn.*.A or timm beit3 keys ({hint})')


def _from_timm(state: Mapping[str, Tensor], report: ConversionReport) -> StateDict:
    out: StateDict = {}
    for key, value in state.items():
        qkv = _TIMM_QKV.match(key)
        if qkv:
            for name, part in zip(('q_proj', 'k_proj', 'v_proj'), value.chunk(3, dim=0), strict=True):
                out[f'encoder.layers.{qkv[1]}.self_attn.{name}.A.{qkv[2]}'] = part
            report.renamed += 3
            continue
        if key == 'pos_embed':  # [1, 1 + N, C] -> the torchscale table [2 + 1 + N, C]
            out['encoder.embed_positions.A.weight'] = torch.cat([value.new_zeros(POS_OFFSET, value.shape[-1]),
                                                                 value[0]])
            report.notes.append('timm pos_embed: the 2 fairseq offset rows (never read) filled with zeros')
            continue
        for pattern, repl in _TIMM:
            if re.match(pattern, key):
                out[re.sub(pattern, repl, key)] = value
                report.renamed += 1
                break
        else:
            out[key] = value
    return out


def split_beit3(state: Mapping[str, Tensor]) -> Tuple[StateDict, StateDict, ConversionReport]:
    """Backbone keys in beitmm's names, the other (task-head) keys, and the report.

    Args:
        state: Flat state dict of any supported BEiT-3 layout (wrappers already removed).

    Returns:
        (backbone, heads, report).
    """
    fmt = detect_beit3_format(state)
    report = ConversionReport(fmt)
    if fmt == 'unilm':
        backbone = {k[len('beit3.'):]: v for k, v in state.items() if k.startswith('beit3.')}
        heads = {k: v for k, v in state.items() if not k.startswith('beit3.')}
        report.renamed += len(backbone)
    else:
        backbone = {k: v for k, v in state.items() if not _HEADS.match(k)}
        heads = {k: v for k, v in state.items() if _HEADS.match(k)}
        if fmt == 'timm':
            backbone = _from_timm(backbone, report)
    return backbone, heads, report


def resize_vision_positions(table: Tensor, grid: Tuple[int, int]) -> Tensor:
    """Resize BEiT-3's vision position table [2 + 1 + Hs * Ws, C] (square source) to a patch grid, bicubically.

    The 2 fairseq offset rows and the cls row are kept as they are (as unilm's ``load_model_and_may_interpolate``).

    Args:
        table: ``encoder.embed_positions.A.weight``.
        grid: Target patch grid (H, W).

    Returns:
        [2 + 1 + H * W, C].
    """
    side = round((table.shape[0] - 1 - POS_OFFSET) ** 0.5)
    if side * side != table.shape[0] - 1 - POS_OFFSET:
        raise ValueError(f'the vision position table has {table.shape[0]} rows, not 3 + a square patch grid')
    return resize_abs_pos_embed(table[None], (side, side), tuple(grid), num_extra_tokens=1 + POS_OFFSET)[0]


def _fit_positions(out: StateDict, shapes: Mapping[str, torch.Size], grid: Optional[Tuple[int, int]],
                   report: ConversionReport) -> None:
    key = 'encoder.embed_positions.A.weight'
    if key in out and key in shapes and out[key].shape != shapes[key] and grid is not None:
        old = out[key]  # [2 + 1 + Ns, C]
        out[key] = resize_vision_positions(old, grid)
        report.resized.append((key, tuple(old.shape), tuple(out[key].shape)))
    key = 'encoder.embed_positions.B.weight'
    if key in out and key in shapes and out[key].shape[0] > shapes[key][0]:
        old = out[key]
        out[key] = old[:shapes[key][0]]
        report.resized.append((key, tuple(old.shape), tuple(out[key].shape)))


def _drop_branches(out: StateDict, shapes: Mapping[str, torch.Size], report: ConversionReport) -> None:
    """Drop the expert / embedding of a branch the model does not have (``modalities``), and an unused final norm."""
    for key in [k for k in out if k not in shapes]:
        if key.startswith('encoder.layer_norm.'):  # torchscale builds it only with normalize_output
            report.dropped.append((key, 'final norm: unused by this model (normalize_output=False or a feature-map '
                                        'output; unilm loads with strict=False and leaves it out)'))
        elif '.B.' in key or key.startswith('text_embed.'):
            report.dropped.append((key, "language branch: the model is built with modalities=('vision',)"))
        elif '.A.' in key or key.startswith('vision_embed.'):
            report.dropped.append((key, "vision branch: the model is built with modalities=('language',)"))
        else:
            continue
        del out[key]


def convert_beit3_backbone(state: Mapping[str, Tensor], target: ConversionTarget,
                           strict: bool = False) -> Tuple[StateDict, ConversionReport, StateDict]:
    """Convert to a ``beitmm.BEiT3``'s keys; also returns the task-head keys left out.

    Args:
        state: Flat source state dict.
        target: The backbone's conversion target.
        strict: Raise when keys are missing or unexpected.

    Returns:
        (backbone state dict, report, head keys).
    """
    if target.extra.get('layout', 'released') != 'released':
        raise ValueError("official BEiT-3 checkpoints are in the released layout; the model is built with "
                         "layout='paper' (no checkpoint of it exists)")
    backbone, heads, report = split_beit3(state)
    shapes = target.shapes
    _drop_branches(backbone, shapes, report)
    _fit_positions(backbone, shapes, target.grid, report)
    if 'fc_norm.weight' in shapes:  # ImageNet: unilm's fc_norm is the backbone's pooled norm
        for suffix in ('weight', 'bias'):
            if f'fc_norm.{suffix}' in heads:
                backbone[f'fc_norm.{suffix}'] = heads.pop(f'fc_norm.{suffix}')
            else:
                report.reinitialised.append((f'fc_norm.{suffix}', 'a pretrained (not fine-tuned) checkpoint has no '
                                             'pooled norm: it starts at identity, as in BEiT3ForImageClassification'))
    wrong = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(shapes[k])}' for k, v in backbone.items()
             if k in shapes and v.shape != shapes[k]]
    if wrong:
        raise ValueError('the BEiT-3 checkpoint does not fit the model (arch, patch size, vocab_size): ' +
                         '; '.join(wrong[:4]))
    if report.source_format == 'timm' and 'vision_embed.mask_token' in shapes:
        report.reinitialised.append(('vision_embed.mask_token', "timm's vision branch has no mask token: left at "
                                     'the model initialisation (only masked data modeling reads it)'))
    return report.settle(backbone, shapes, strict), report, heads


@CHECKPOINT_CONVERTERS.register_module(name='beit3')
class BEiT3Converter(CheckpointConverter):
    """unilm BEiT-3 task checkpoints, torchscale BEiT3 state dicts and timm's BEiT-3 vision branch."""

    name = 'beit3'

    def convert_backbone(self, state_dict: Mapping[str, Tensor], target: ConversionTarget,
                         strict: bool = False) -> Tuple[StateDict, ConversionReport]:
        """See :meth:`CheckpointConverter.convert_backbone`; task heads are reported as dropped."""
        out, report, heads = convert_beit3_backbone(_backbone_view(state_dict), target, strict)
        report.dropped += [(k, 'task head, not part of the backbone') for k in heads]
        return out, report

    def convert_model(self, state_dict: Mapping[str, Tensor], shapes: Mapping[str, torch.Size],
                      backbone_prefix: str, target: ConversionTarget,
                      strict: bool = False) -> Tuple[StateDict, ConversionReport]:
        """See :meth:`CheckpointConverter.convert_model`; head keys the model has are copied as they are."""
        own, backbone, rest = split_model_state(state_dict, backbone_prefix)  # beitmm's own whole-model file?
        if own:  # its other keys are the model's own (heads, MDM's mim_head / target_generator): copied as they are
            converted, report, heads = convert_beit3_backbone(backbone, target, strict)
            heads = {**heads, **rest}
        else:
            converted, report, heads = convert_beit3_backbone({**backbone, **rest}, target, strict)
            if 'head.fc.weight' in shapes and 'head.weight' not in shapes:  # mmpretrain's LinearClsHead
                heads = {('head.fc.' + k[5:] if k in ('head.weight', 'head.bias') else k): v for k, v in heads.items()}
        return report.whole_model(converted, heads, shapes, backbone_prefix, own), report


def _backbone_view(state: Mapping[str, Tensor]) -> Mapping[str, Tensor]:
    """A beitmm whole-model checkpoint given to the backbone API: its ``backbone.`` part."""
    if any(k.startswith('backbone.') for k in state) and not any(_OWN.match(k) or k.startswith('beit3.')
                                                                 for k in state):
        return {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    return state


__all__: List[str] = ['BEiT3Converter', 'convert_beit3_backbone', 'detect_beit3_format', 'resize_vision_positions',
                       'split_beit3']
