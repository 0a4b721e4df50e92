"""Checkpoint layouts of the BEiT family and their translation to beitmm's.

beitmm's backbone layout is the microsoft/unilm (== timm) naming with the
final norm always called ``norm``.  This module recognises the other layouts
(official unilm, timm, HuggingFace ``transformers`` BEiT / Data2Vec-vision,
mmpretrain ``BEiTViT``, mmseg ``BEiT``) and renames their backbone keys; it
does not look at any target model (see :mod:`.ckpt_convert` for that).
"""
import re
from typing import Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor

__all__ = ['FORMATS', 'detect_format', 'to_beitmm_layout']

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
    (r'^fpn\d\.', 'segmentation FPN, mapped to neck.* by '
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

    Args:
        state_dict (Mapping[str, Tensor]): Flat state dict.

    Returns:
        str: One of :data:`FORMATS`.
    """
    keys = list(state_dict)
    if any(k.startswith(_HF_PREFIXES) or '.encoder.layer.' in k
           or k.startswith('encoder.layer.') for k in keys):
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


def _merge_hf_qkv(qkv: Dict[str, Dict[str, Tensor]], out: StateDict,
                  dropped: Dropped, prefix: str) -> int:
    """Merge HF query/key/value projections into ``qkv`` + q/v biases.

    Args:
        qkv (dict): ``{layer: {'query.weight': tensor, ...}}``.
        out (dict): beitmm state dict to write into.
        dropped (list): Receives the dropped (all-zero) key biases.
        prefix (str): Source key prefix (``beit.`` etc.), for messages.

    Returns:
        int: Number of keys written to ``out``.
    """
    written = 0
    for layer, parts in sorted(qkv.items(), key=lambda kv: int(kv[0])):
        src = f'{prefix}encoder.layer.{layer}.attention.attention'
        absent = [p for p in ('query.weight', 'key.weight', 'value.weight')
                  if p not in parts]
        if absent:
            raise ValueError(f'HF checkpoint lacks {src}.{absent[0]}: cannot '
                             'build the merged qkv weight')
        out[f'blocks.{layer}.attn.qkv.weight'] = torch.cat(
            [parts['query.weight'], parts['key.weight'],
             parts['value.weight']], dim=0)  # [3C, C]
        written += 1
        for name, dst in (('query.bias', 'q_bias'), ('value.bias', 'v_bias')):
            if name in parts:
                out[f'blocks.{layer}.attn.{dst}'] = parts[name]
                written += 1
        k_bias = parts.get('key.bias')
        if k_bias is not None:
            if torch.any(k_bias != 0):
                raise ValueError(
                    f'{src}.key.bias is non-zero but BEiT attention has no '
                    'key bias; this checkpoint is not a BEiT model')
            dropped.append((f'{src}.key.bias', 'all-zero key bias'))
    return written


def to_beitmm_layout(state_dict: Mapping[str, Tensor],
                     src_format: Optional[str] = None
                     ) -> Tuple[StateDict, int, Dropped]:
    """Rename backbone keys of any supported layout to beitmm's.

    Only names change (HF q/k/v projections are concatenated into ``qkv``):
    no key is resized and the shared relative-position table is kept as is.
    Derived buffers, prediction/classification heads and segmentation
    FPN/head keys are dropped with a reason.

    Args:
        state_dict (Mapping[str, Tensor]): Bare backbone state dict (HF
            dicts may keep their ``beit.`` / ``data2vec_vision.`` prefix and
            top-level ``layernorm`` / ``lm_head`` / ``classifier``).
        src_format (str, optional): One of :data:`FORMATS`; detected when
            None.

    Returns:
        tuple[dict, int, list]: beitmm-layout state dict, number of keys
        whose name changed, and ``(source key, reason)`` of dropped keys.
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
    qkv: Dict[str, Dict[str, Tensor]] = {}
    hf_prefix = ''
    for src_key, value in state_dict.items():
        key = src_key
        if fmt == 'hf':
            key = next((key[len(p):] for p in _HF_PREFIXES
                        if key.startswith(p)), key)
            found = _HF_QKV.search(key)
            if found:
                hf_prefix = src_key[:len(src_key) - len(key)]
                qkv.setdefault(found[1], {})[f'{found[2]}.{found[3]}'] = value
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
    renamed = _merge_hf_qkv(qkv, out, dropped, hf_prefix)
    renamed += sum(new != old for new, old in origin.items())
    return out, renamed, dropped
