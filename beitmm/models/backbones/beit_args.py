"""mmseg ``BEiT`` and mmpretrain ``BEiTViT`` argument names for ``beitmm.BEiT`` (a drop-in replacement).

Replacing ``type='BEiT'`` by ``type='beitmm.BEiT'`` in an mmseg or mmpretrain config keeps its
arguments working: each is translated to beitmm's, or, where beitmm cannot do what a value asks,
rejected with the value to use instead. Nothing is ignored silently except mmseg's ``norm_eval``,
which only affects BatchNorm layers and BEiT has none.
"""
from typing import Any, Dict

ARCH_ZOO = {
    **dict.fromkeys(['t', 'tiny', 'deit-t', 'deit-tiny'],
                    dict(embed_dims=192, num_layers=12, num_heads=3, feedforward_channels=768)),
    **dict.fromkeys(['s', 'small', 'deit-s', 'deit-small'],
                    dict(embed_dims=384, num_layers=12, num_heads=6, feedforward_channels=1536)),
    **dict.fromkeys(['b', 'base', 'deit-b', 'deit-base'],
                    dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072)),
    **dict.fromkeys(['l', 'large'], dict(embed_dims=1024, num_layers=24, num_heads=16, feedforward_channels=4096)),
    **dict.fromkeys(['h', 'huge'], dict(embed_dims=1280, num_layers=32, num_heads=16, feedforward_channels=5120)),
}
ARCH_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')
_DIMS = ('embed_dims', 'num_layers', 'num_heads', 'mlp_ratio')
# name -> the only value(s) beitmm supports, with the reason given when another is asked for
_FIXED = {
    'patch_norm': ((False, ), 'BEiT has no norm after the patch embedding'),
    'num_fcs': ((2, ), 'the BEiT MLP has two linear layers'),
    'interpolate_mode': (('bicubic', ), 'absolute positions are resized bicubically'),
    'layer_cfgs': (({}, None), 'per-layer overrides are not supported; use the backbone arguments'),
    'patch_cfg': (({}, None), 'patch embedding overrides are not supported; use patch_size / in_channels'),
    'pre_norm': ((False, ), 'BEiT has no norm before the first block'),
}


def resolve_arch(arch: Any) -> Dict[str, int]:
    """Architecture dict from a preset name or a dict.

    Args:
        arch: A name of :data:`ARCH_ZOO` or a dict with :data:`ARCH_KEYS`.

    Returns:
        A new dict with the four :data:`ARCH_KEYS`.
    """
    if isinstance(arch, str):
        if arch.lower() not in ARCH_ZOO:
            raise ValueError(f'unknown BEiT arch {arch!r}; choose one of {sorted(set(ARCH_ZOO))} or pass a dict')
        return dict(ARCH_ZOO[arch.lower()])
    missing = set(ARCH_KEYS) - set(arch)
    if missing:
        raise ValueError(f'BEiT arch dict lacks {sorted(missing)}')
    return {k: int(arch[k]) for k in ARCH_KEYS}


def translate_openmmlab_args(arch: Any, extra: Dict[str, Any]) -> Dict[str, Any]:
    """Turn mmseg ``BEiT`` / mmpretrain ``BEiTViT`` arguments into ``beitmm.BEiT`` ones.

    Args:
        arch: beitmm's ``arch`` argument (name or dict).
        extra: Keyword arguments beitmm's signature does not have.

    Returns:
        beitmm keyword arguments to set: always ``arch`` (a dict), plus any of
        ``layer_scale_init_value``, ``qv_bias``, ``norm_eps``, ``act_cfg``, ``init_cfg``,
        ``final_norm`` and ``frozen_stages``.

    Raises:
        TypeError: An argument neither library has.
        ValueError: A value beitmm cannot honour (the message names the supported one).
    """
    extra = dict(extra)
    out: Dict[str, Any] = {}
    dims = resolve_arch(arch)
    if any(k in extra for k in _DIMS):  # mmseg: explicit dims override the preset
        for key in ('embed_dims', 'num_layers', 'num_heads'):
            dims[key] = int(extra.pop(key, dims[key]))
        if 'mlp_ratio' in extra:
            dims['feedforward_channels'] = int(dims['embed_dims'] * extra.pop('mlp_ratio'))
    out['arch'] = dims
    if 'init_values' in extra:  # mmseg's layer-scale name
        out['layer_scale_init_value'] = extra.pop('init_values')
    if 'bias' in extra:  # mmpretrain: bias='qv_bias' | True | False
        bias = extra.pop('bias')
        if bias not in ('qv_bias', False):
            raise ValueError(f"bias={bias!r}: beitmm.BEiT supports bias='qv_bias' (q and v biases, BEiT) or False")
        out['qv_bias'] = bias == 'qv_bias'
    if 'norm_cfg' in extra:
        norm = dict(extra.pop('norm_cfg'))
        if norm.get('type', 'LN') not in ('LN', 'LayerNorm'):
            raise ValueError(f'norm_cfg={norm}: beitmm.BEiT uses LayerNorm (LN); set norm_cfg=dict(type="LN", eps=...)')
        if 'eps' in norm:
            out['norm_eps'] = norm['eps']
    if 'act_cfg' in extra:
        out['act_cfg'] = dict(extra.pop('act_cfg'))
    if 'pretrained' in extra:  # mmseg's deprecated checkpoint argument
        path = extra.pop('pretrained')
        if path is not None:
            out['init_cfg'] = dict(type='Pretrained', checkpoint=path)
    extra.pop('norm_eval', None)  # only affects BatchNorm; BEiT has none
    for key in ('final_norm', 'frozen_stages'):
        if key in extra:
            out[key] = extra.pop(key)
    for key, (allowed, why) in _FIXED.items():
        if key in extra:
            value = extra.pop(key)
            if value not in allowed:
                raise ValueError(f'{key}={value!r} is not supported by beitmm.BEiT ({why}); use {allowed[0]!r}')
    if extra:
        raise TypeError(f'beitmm.BEiT got unexpected argument(s) {sorted(extra)}; it takes its own arguments and '
                        'those of mmseg BEiT / mmpretrain BEiTViT (see beitmm/models/backbones/beit_args.py)')
    return out
