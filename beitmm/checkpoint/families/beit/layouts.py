"""Checkpoint layouts of the BEiT family and their translation to beitmm's.

beitmm's backbone layout is the microsoft/unilm (== timm) naming with the
final norm always called ``norm``.  This module recognises the other layouts
(official unilm, timm, HuggingFace ``transformers`` BEiT / Data2Vec-vision,
mmpretrain ``BEiTViT``, mmseg ``BEiT``) and renames their backbone keys; it
does not look at any target model (see :mod:`.convert` for that).

HuggingFace has two namings, both detected as ``'hf'``: transformers 4
(``beit.encoder.layer.N.attention.attention.query``, ``fpn1.0``,
``decode_head.bottleneck.conv``), which the files on the Hub keep, and
transformers 5 (``beit.layers.N.attention.q_proj``, ``fpn.fpn1.conv_transpose1``,
``decode_head.psp_bottleneck.convolution``), which ``model.state_dict()`` of
transformers 5 returns (its ``save_pretrained`` writes the transformers 4
names back).  transformers 5 names are first mapped to transformers 4 ones
(:func:`hf5_to_hf4_key`), then one set of rules applies.
"""
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor

__all__ = ['FORMATS', 'detect_format', 'to_beitmm_layout', 'hf5_to_hf4_key', 'hf_task_key',
           'hf_seg_out_indices']

FORMATS = ('beitmm', 'unilm', 'timm', 'hf', 'mmpretrain', 'mmseg')
StateDict = Dict[str, Tensor]
Rules = List[Tuple[str, str]]  # (regex, replacement or drop reason)
Dropped = List[Tuple[str, str]]  # (source key, reason)

_HF_PREFIXES = ('beit.', 'data2vec_vision.')

# Keys dropped from every layout: (regex, reason).
_COMMON_DROPS: Rules = [
    (r'(^|\.)relative_position_index$', 'derived buffer, rebuilt by the model'),
    (r'(^|\.)k_bias$', 'zero key bias buffer (beitmm has none)'),
    (r'^lm_head\.', 'masked-image-modeling prediction head'),
    (r'^cls_pt_', 'BEiT v2 pretraining-only CLS branch'),
    (r'^fpn\d*\.', 'segmentation FPN, mapped to neck.* by '
     'convert_model_state_dict only'),
    (r'^(decode_head|auxiliary_head)\.', 'segmentation head'),
]
# Final-norm sources ordered by preference when several map to ``norm``.
_NORM_PREFERENCE = ('fc_norm.', 'pooler.layernorm.', 'ln2.', 'ln1.',
                    'layernorm.', 'norm.')

_UNILM_RULES: Rules = [(r'^fc_norm\.', 'norm.')]
_UNILM_DROPS: Rules = [(r'^head\.', 'classification head (task-specific)')]

_OPENMMLAB_RULES: Rules = [
    (r'^patch_embed\.projection\.', 'patch_embed.proj.'),
    (r'^layers\.(\d+)\.ln1\.', r'blocks.\1.norm1.'),
    (r'^layers\.(\d+)\.ln2\.', r'blocks.\1.norm2.'),
    (r'^layers\.(\d+)\.ffn\.layers\.0\.0\.', r'blocks.\1.mlp.fc1.'),
    (r'^layers\.(\d+)\.ffn\.layers\.1\.', r'blocks.\1.mlp.fc2.'),
    (r'^layers\.(\d+)\.', r'blocks.\1.'),
    (r'^(ln1|ln2)\.', 'norm.'),  # final norm (both) / mmpretrain pooling
]
_OPENMMLAB_DROPS: Rules = [(r'^head\.', 'classification head (task-specific)')]

# transformers 5 -> transformers 4 names, the reverse of the renamings transformers 5 applies when it loads Hub
# files (transformers/conversion_mapping.py: "ViTModel", "BeitModel", "BeitForSemanticSegmentation"); first match.
_HF5_BACKBONE: Rules = [
    (r'^shared_position_bias\.', 'encoder.relative_position_bias.'),
    (r'^layers\.(\d+)\.attention\.q_proj\.', r'encoder.layer.\1.attention.attention.query.'),
    (r'^layers\.(\d+)\.attention\.k_proj\.', r'encoder.layer.\1.attention.attention.key.'),
    (r'^layers\.(\d+)\.attention\.v_proj\.', r'encoder.layer.\1.attention.attention.value.'),
    (r'^layers\.(\d+)\.attention\.o_proj\.', r'encoder.layer.\1.attention.output.dense.'),
    (r'^layers\.(\d+)\.mlp\.fc1\.', r'encoder.layer.\1.intermediate.dense.'),
    (r'^layers\.(\d+)\.mlp\.fc2\.', r'encoder.layer.\1.output.dense.'),
    (r'^layers\.(\d+)\.relative_position_bias\.',
     r'encoder.layer.\1.attention.attention.relative_position_bias.'),
    (r'^layers\.(\d+)\.', r'encoder.layer.\1.'),  # layernorm_before / _after, lambda_1 / _2
]
# Segmentation modules of transformers 5 (BeitFPNNeck, BeitConvLayer, BeitPyramidPoolingBlock) -> transformers 4
# (nn.Sequential FPN, BeitConvModule's conv / bn, PSP blocks as Sequential(pool, conv module)).
_HF5_TASK: Rules = [
    (r'^fpn\.fpn1\.conv_transpose1\.', 'fpn1.0.'),
    (r'^fpn\.fpn1\.normalization\.', 'fpn1.1.'),
    (r'^fpn\.fpn1\.conv_transpose2\.', 'fpn1.3.'),
    (r'^fpn\.fpn2\.', 'fpn2.0.'),
    (r'^decode_head\.psp_bottleneck\.', 'decode_head.bottleneck.'),
    (r'^decode_head\.psp_modules\.blocks\.(\d+)\.conv\.', r'decode_head.psp_modules.\1.1.'),
]
_HF5_CONV_LAYER: Rules = [(r'\.convolution\.', '.conv.'), (r'\.normalization\.', '.bn.')]
_HF_HEAD = re.compile(r'^(decode_head|auxiliary_head)\.')
# Bare (unprefixed) transformers 5 BeitModel dicts: `layers.N.` like mmpretrain / mmseg, told apart by these names.
_HF5_BARE = re.compile(r'^(layers\.\d+\.(attention\.[qkvo]_proj|layernorm_before|mlp\.fc\d|lambda_)'
                       r'|shared_position_bias\.|embeddings\.patch_embeddings\.)')

_HF_LAYER = r'^encoder\.layer\.(\d+)\.'
_HF_RULES: Rules = [
    (r'^embeddings\.cls_token$', 'cls_token'),
    (r'^embeddings\.mask_token$', 'mask_token'),
    (r'^embeddings\.position_embeddings$', 'pos_embed'),
    (r'^embeddings\.patch_embeddings\.projection\.', 'patch_embed.proj.'),
    (r'^encoder\.relative_position_bias\.', 'rel_pos_bias.'),
    (_HF_LAYER + r'layernorm_before\.', r'blocks.\1.norm1.'),
    (_HF_LAYER + r'layernorm_after\.', r'blocks.\1.norm2.'),
    (_HF_LAYER + r'attention\.output\.dense\.', r'blocks.\1.attn.proj.'),
    (_HF_LAYER + r'attention\.attention\.relative_position_bias\.',
     r'blocks.\1.attn.'),
    (_HF_LAYER + r'intermediate\.dense\.', r'blocks.\1.mlp.fc1.'),
    (_HF_LAYER + r'output\.dense\.', r'blocks.\1.mlp.fc2.'),
    (_HF_LAYER + r'lambda_(\d)$', r'blocks.\1.gamma_\2'),
    (r'^(pooler\.)?layernorm\.', 'norm.'),
]
_HF_DROPS: Rules = [(r'^classifier\.', 'classification head (task-specific)')]
_HF_QKV = re.compile(_HF_LAYER + r'attention\.attention\.'
                     r'(query|key|value)\.(weight|bias)$')
QKV = Dict[str, Dict[str, Tuple[str, Tensor]]]  # {layer: {'query.weight': (source key, tensor), ...}}


def _first_sub(rules: Rules, key: str) -> str:
    for pattern, repl in rules:
        found = re.match(pattern, key)
        if found:
            return found.expand(repl) + key[found.end():]
    return key


def hf5_to_hf4_key(key: str) -> str:
    """Map a (prefix-stripped) transformers 5 BEiT backbone key to its transformers 4 name; others unchanged.

    Args:
        key: Backbone key without its ``beit.`` / ``data2vec_vision.`` prefix.

    Returns:
        The transformers 4 name, e.g. ``layers.0.attention.q_proj.weight`` ->
        ``encoder.layer.0.attention.attention.query.weight``.
    """
    return _first_sub(_HF5_BACKBONE, key)


def hf_task_key(key: str) -> str:
    """Map an HF segmentation FPN / head key (either major version) to its transformers 4 name.

    transformers 5 renamed the FPN (``fpn.fpn1.conv_transpose1``), the PSP blocks
    (``psp_modules.blocks.N.conv``, ``psp_bottleneck``) and every conv layer's ``conv`` / ``bn`` to
    ``convolution`` / ``normalization`` (modeling_beit.py, modeling_data2vec_vision.py); the transformers 4
    names equal mmseg's ``UPerHead`` / ``FCNHead`` ones except ``classifier`` (mmseg ``conv_seg``).

    Args:
        key: A top-level key of an HF segmentation state dict (``fpn*``, ``decode_head.*``,
            ``auxiliary_head.*``).

    Returns:
        Its transformers 4 name (unchanged when it already is one).
    """
    key = _first_sub(_HF5_TASK, key)
    if _HF_HEAD.match(key):
        for pattern, repl in _HF5_CONV_LAYER:
            key = re.sub(pattern, repl, key)
    return key


def hf_seg_out_indices(out_indices: Sequence[int]) -> Tuple[int, ...]:
    """Blocks HF's ``BeitForSemanticSegmentation`` reads, as beitmm ``out_indices``.

    HF takes ``hidden_states[i - 1]`` for each ``i`` of ``config.out_indices``, ``hidden_states[0]``
    being the embedding output (modeling_beit.py of transformers 4 and 5: ``idx + 1 in out_indices`` /
    ``encoder_hidden_states[i - 1]``), i.e. the output of block ``i - 2`` counted from 0. unilm and mmseg
    read block ``i`` for the same numbers ([3, 5, 7, 11] for BEiT-B on ADE20K), so HF's port feeds
    other blocks to the weights than the ones they were trained with; use this to reproduce HF's outputs.

    Args:
        out_indices: HF ``config.out_indices`` (four integers >= 2).

    Returns:
        The block indices for ``beitmm.BEiT(out_indices=...)``.
    """
    if any(i < 2 for i in out_indices):
        raise ValueError(f'HF out_indices {list(out_indices)} read the embedding output (index < 2), which no '
                         'beitmm block returns')
    return tuple(i - 2 for i in out_indices)


def _backbone_keys(keys: List[str]) -> List[str]:
    stripped = [k[len('backbone.'):] for k in keys if k.startswith('backbone.')]
    return stripped or keys


def detect_format(state_dict: Mapping[str, Tensor]) -> str:
    """Guess the layout of a (backbone or whole-model) state dict.

    unilm, timm and beitmm share one naming; they are told apart by unilm's
    stored ``relative_position_index`` buffers / pretraining heads, timm's
    ``fc_norm`` / ``head`` without index buffers, and beitmm otherwise.  The
    three convert identically.  mmpretrain and mmseg also share one naming
    (``layers.{i}.ln1``, ``ffn.layers.0.0``, final norm ``ln1``);
    mmpretrain is recognised by its pooling norm ``ln2``, shared table,
    ``pos_embed``, ``mask_token`` or ``head.fc`` / ``target_generator``
    keys, and mmseg is reported otherwise; both convert identically.
    HF dicts (transformers 4 or 5) have a ``beit.`` / ``data2vec_vision.``
    prefix, ``encoder.layer.N.`` keys, or, bare transformers 5 ones,
    ``layers.N.attention.q_proj``-style names.

    Args:
        state_dict: Flat state dict.

    Returns:
        One of :data:`FORMATS`.
    """
    keys = list(state_dict)
    if any(k.startswith(_HF_PREFIXES) or '.encoder.layer.' in k
           or k.startswith('encoder.layer.') or _HF5_BARE.match(k) for k in keys):
        return 'hf'
    bb = _backbone_keys(keys)
    if any(re.match(r'layers\.\d+\.', k) for k in bb):
        if any(k.startswith(('ln2.', 'rel_pos_bias.'))
               or k in ('pos_embed', 'mask_token') for k in bb) or any(
                   k.startswith(('head.fc.', 'target_generator.'))
                   for k in keys):
            return 'mmpretrain'
        return 'mmseg'
    if any(re.match(r'blocks\.\d+\.', k) for k in bb):
        if any('relative_position_index' in k
               or k.startswith(('lm_head.', 'cls_pt_', 'fpn1.', 'fpn2.'))
               for k in bb):
            return 'unilm'
        if any(k.startswith(('fc_norm.', 'head.')) for k in bb):
            return 'timm'
        return 'beitmm'
    raise ValueError(
        'unrecognised checkpoint layout: no `blocks.N.`, `layers.N.` or '
        f'`encoder.layer.N.` keys (first keys: {keys[:5]}); supported '
        f'formats: {FORMATS}')


def _match(rules: Rules, key: str) -> Optional[Tuple[re.Match, str]]:
    for pattern, repl in rules:
        found = re.search(pattern, key)
        if found:
            return found, repl
    return None


def _norm_rank(src_key: str, new_key: str) -> int:
    """Preference of a final-norm source key (lower wins)."""
    for rank, prefix in enumerate(_NORM_PREFERENCE):
        if src_key.startswith(prefix) or f'.{prefix}' in src_key:
            return rank
    raise ValueError(f'two checkpoint keys map to {new_key!r} (one is '
                     f'{src_key!r}); the checkpoint mixes layouts')


def _hf_qkv_part(key: str) -> Optional[Tuple[str, str]]:
    """``(layer, 'query.weight' | ...)`` of a transformers 4 q/k/v projection key, else None."""
    found = _HF_QKV.search(key)
    return (found[1], f'{found[2]}.{found[3]}') if found else None


def _merge_hf_qkv(qkv: QKV, out: StateDict, dropped: Dropped) -> int:
    """Merge HF query/key/value projections into ``qkv`` + q/v biases.

    Args:
        qkv: ``{layer: {'query.weight': (source key, tensor), ...}}`` (transformers 4 part names, whatever
            the source naming).
        out: beitmm state dict to write into.
        dropped: Receives the dropped (all-zero) key biases.

    Returns:
        Number of keys written to ``out``.
    """
    written = 0
    for layer, parts in sorted(qkv.items(), key=lambda kv: int(kv[0])):
        absent = [p for p in ('query.weight', 'key.weight', 'value.weight') if p not in parts]
        if absent:
            have = ', '.join(src for src, _ in parts.values())
            raise ValueError(f'HF checkpoint lacks the {absent[0]} projection of layer {layer} (it has {have}): '
                             'cannot build the merged qkv weight')
        out[f'blocks.{layer}.attn.qkv.weight'] = torch.cat(
            [parts[p][1] for p in ('query.weight', 'key.weight', 'value.weight')], dim=0)  # [3C, C]
        written += 1
        for name, dst in (('query.bias', 'q_bias'), ('value.bias', 'v_bias')):
            if name in parts:
                out[f'blocks.{layer}.attn.{dst}'] = parts[name][1]
                written += 1
        if 'key.bias' in parts:  # HF builds the key projection without bias (BeitSelfAttention / BeitAttention)
            src, k_bias = parts['key.bias']
            if torch.any(k_bias != 0):
                raise ValueError(f'{src} is non-zero but BEiT attention has no key bias; this checkpoint is not a '
                                 'BEiT model')
            dropped.append((src, 'all-zero key bias'))
    return written


def _strip_hf(src_key: str) -> str:
    """Prefix-free transformers 4 name of an HF backbone key (transformers 5 names mapped back)."""
    key = next((src_key[len(p):] for p in _HF_PREFIXES if src_key.startswith(p)), src_key)
    return hf5_to_hf4_key(key)


def to_beitmm_layout(state_dict: Mapping[str, Tensor],
                     src_format: Optional[str] = None
                     ) -> Tuple[StateDict, int, Dropped]:
    """Rename backbone keys of any supported layout to beitmm's.

    Only names change (HF q/k/v projections, transformers 4 ``query`` / ``key`` /
    ``value`` or transformers 5 ``q_proj`` / ``k_proj`` / ``v_proj``, are concatenated into ``qkv``):
    no key is resized and the shared relative-position table is kept as is.
    Derived buffers, prediction/classification heads and segmentation
    FPN/head keys are dropped with a reason.

    Args:
        state_dict: Bare backbone state dict (HF dicts may keep their
            ``beit.`` / ``data2vec_vision.`` prefix and top-level
            ``layernorm`` / ``lm_head`` / ``classifier``).
        src_format: One of :data:`FORMATS`; detected when None.

    Returns:
        beitmm-layout state dict, number of keys whose name changed, and
        ``(source key, reason)`` of dropped keys.
    """
    fmt = src_format or detect_format(state_dict)
    if fmt not in FORMATS:
        raise ValueError(f'unknown source format {fmt!r}; use one of '
                         f'{FORMATS}')
    rules, drops = {
        'hf': (_HF_RULES, _HF_DROPS),
        'mmpretrain': (_OPENMMLAB_RULES, _OPENMMLAB_DROPS),
        'mmseg': (_OPENMMLAB_RULES, _OPENMMLAB_DROPS),
    }.get(fmt, (_UNILM_RULES, _UNILM_DROPS))
    out: StateDict = {}
    origin: Dict[str, str] = {}  # output key -> source key
    dropped: Dropped = []
    qkv: QKV = {}
    for src_key, value in state_dict.items():
        key = src_key
        if fmt == 'hf':
            key = _strip_hf(src_key)
            part = _hf_qkv_part(key)
            if part:
                qkv.setdefault(part[0], {})[part[1]] = (src_key, value)
                continue
        drop = _match(_COMMON_DROPS + drops, key)
        if drop:
            dropped.append((src_key, drop[1]))
            continue
        rename = _match(rules, key)
        new_key = (rename[0].expand(rename[1]) + key[rename[0].end():]
                   if rename else key)
        if new_key in out:  # several final norms: keep the preferred one
            rank = [_norm_rank(k, new_key) for k in (origin[new_key], src_key)]
            loser = origin[new_key] if rank[1] < rank[0] else src_key
            dropped.append(
                (loser, f'also maps to {new_key}; beitmm has one final norm'))
            if loser == src_key:
                continue
        out[new_key] = value
        origin[new_key] = src_key
    renamed = _merge_hf_qkv(qkv, out, dropped)
    renamed += sum(new != old for new, old in origin.items())
    return out, renamed, dropped
