"""Layer-wise learning-rate decay for BEiT-style fine-tuning (BEiT paper, §3 / unilm).

Every trainable parameter gets a layer id ``i`` in ``0 .. L+1`` from the backbone's
``get_layer_depth`` and an lr of ``base_lr * rate ** (L + 1 - i)``; parameters outside the
backbone (heads, necks, decode heads) sit in the top group (scale 1).

Example config::

    optim_wrapper = dict(
        optimizer=dict(type='AdamW', lr=4e-4, weight_decay=0.05, betas=(0.9, 0.999)),
        constructor='beitmm.LayerDecayOptimWrapperConstructor',
        paramwise_cfg=dict(layer_decay_rate=0.65))

mmengine param schedulers rescale each group from its own ``initial_lr``, so the
per-layer ratios survive warmup (``LinearLR``) and ``PolyLR``/``CosineAnnealingLR`` as long
as the floor is relative (``eta_min=0``, ``eta_min_ratio``, or ``beitmm.CosineAnnealingLR``'s ``min_lr``: unilm's
floor ``min_lr * lr_scale``); an absolute non-zero ``eta_min`` is shared by all groups and flattens the ratios near
the end of training.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor

from beitmm.checkpoint.io.shapes import fsdp_original_shapes
from beitmm.registry import OPTIM_WRAPPER_CONSTRUCTORS

# unilm's fine-tuning ``no_weight_decay()``; 1-D tensors (biases, norms, layer-scale gammas, q/v biases) are
# always exempt. Per-layer relative position tables are decayed, as unilm does by default.
DEFAULT_NO_DECAY_NAMES = ('pos_embed', 'cls_token')
_KNOWN_KEYS = {'layer_decay_rate', 'custom_keys', 'no_decay_names', 'no_decay_keys', 'no_decay_1d'}

LayerDepthFn = Callable[[str], Tuple[int, int]]


def resolve_layer_depth_fn(model: nn.Module) -> LayerDepthFn:
    """Find the function giving ``(layer_id, num_layers)`` for a full parameter name.

    Args:
        model: The whole model (e.g. ImageClassifier, EncoderDecoder) or a bare
            backbone.

    Returns:
        Callable[[str], tuple[int, int]]: Maps a parameter name of ``model`` to its layer id
        and the number of layers.
    """
    backbone = getattr(model, 'backbone', None)
    if isinstance(backbone, nn.Module) and callable(getattr(backbone, 'get_layer_depth', None)):
        return lambda name: backbone.get_layer_depth(name, 'backbone.')
    if callable(getattr(model, 'get_layer_depth', None)):
        return model.get_layer_depth
    culprit = type(backbone if isinstance(backbone, nn.Module) else model).__name__
    raise TypeError(
        f'Layer-wise lr decay needs `get_layer_depth(param_name, prefix)`, but the backbone '
        f'{culprit} does not support layer decay (neither `model.backbone.get_layer_depth` '
        f'nor `model.get_layer_depth` exists on {type(model).__name__}).')


# Not mmpretrain's constructor: it needs model.get_layer_depth (absent on mmseg EncoderDecoder) and decays 1-D params.
@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Build one optimizer group per (layer id, decay / no-decay, custom key).

    ``paramwise_cfg`` keys:

    - ``layer_decay_rate`` (float, required): lr of layer ``i`` is
      ``lr * rate ** (num_layers - 1 - i)``.
    - ``custom_keys`` (dict, optional): mmengine semantics; the longest key that is a
      substring of the parameter name wins, its ``lr_mult`` multiplies the lr and its
      ``decay_mult`` the weight decay. Weight decay that the no-decay rules set to 0 stays 0.
    - ``no_decay_names`` (Sequence[str], optional): a parameter whose dotted name has one
      of these components gets weight decay 0. Defaults to ``DEFAULT_NO_DECAY_NAMES``.
    - ``no_decay_keys`` (Sequence[str], optional): a parameter whose full name contains one of
      these substrings gets weight decay 0 (VLMo's ``set_schedule`` rule, e.g. ``'bias'``,
      ``'norm1.weight'``). Defaults to none.
    - ``no_decay_1d`` (bool, optional): parameters with ``ndim <= 1`` (biases, norms, gammas)
      get weight decay 0 (unilm's BEiT rule). Defaults to True; VLMo's name rules decay them
      unless a name rule exempts them (False).

    Groups are ordered top layer first (so mmengine logs the nominal lr) and carry
    ``group_name`` (e.g. ``'layer_3_no_decay'``), ``layer_id``, ``lr_scale``, ``lr``,
    ``weight_decay`` and torch's native ``param_names``. Frozen parameters are skipped.

    Args:
        optim_wrapper_cfg: The optim wrapper config with an ``optimizer`` dict that
            sets ``lr`` and ``weight_decay``.
        paramwise_cfg: See above.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        if not paramwise_cfg or 'layer_decay_rate' not in paramwise_cfg:
            raise ValueError('LayerDecayOptimWrapperConstructor needs '
                             'paramwise_cfg=dict(layer_decay_rate=<float>, ...)')
        unknown = set(paramwise_cfg) - _KNOWN_KEYS
        if unknown:
            raise ValueError(f'Unsupported paramwise_cfg keys {sorted(unknown)} for '
                             f'LayerDecayOptimWrapperConstructor; known: {sorted(_KNOWN_KEYS)}')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        self.decay_rate = float(paramwise_cfg['layer_decay_rate'])
        if not 0.0 < self.decay_rate <= 1.0:
            raise ValueError(f'layer_decay_rate must be in (0, 1], got {self.decay_rate}')
        if self.base_lr is None or self.base_wd is None:
            raise ValueError('LayerDecayOptimWrapperConstructor needs `lr` and `weight_decay` set '
                             f'explicitly in the optimizer config, got {self.optimizer_cfg}')
        self.no_decay_names = tuple(paramwise_cfg.get('no_decay_names', DEFAULT_NO_DECAY_NAMES))
        self.no_decay_keys = tuple(paramwise_cfg.get('no_decay_keys', ()))
        self.no_decay_1d = bool(paramwise_cfg.get('no_decay_1d', True))
        custom_keys = paramwise_cfg.get('custom_keys', {})
        # mmengine order: alphabetical, then longest first; the first substring match wins.
        self.custom_keys: Dict[str, dict] = dict(custom_keys)
        self.sorted_custom_keys: List[str] = sorted(sorted(custom_keys), key=len, reverse=True)

    def __call__(self, model: nn.Module):
        """Build the optimizer wrapper; under FSDP, the 1-D rule reads FSDP's recorded shapes (its shards are flat)."""
        self._fsdp_shapes = fsdp_original_shapes(model)
        return super().__call__(model)

    def _shape(self, param: nn.Parameter) -> torch.Size:
        return getattr(self, '_fsdp_shapes', {}).get(id(param), param.shape)  # FSDP shards are flat views

    def _match_custom_key(self, name: str) -> Optional[str]:
        return next((k for k in self.sorted_custom_keys if k in name), None)

    def _is_no_decay(self, name: str, ndim: int) -> bool:
        return (self.no_decay_1d and ndim <= 1 or any(part in self.no_decay_names for part in name.split('.'))
                or any(key in name for key in self.no_decay_keys))

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '', **kwargs) -> None:
        """Fill ``params`` with the layer-decay groups of the whole ``module``.

        Args:
            params: Output list of param groups, extended in place.
            module: The whole model (``__call__`` already unwrapped DDP).
            prefix: Must be ``''``: groups are built for the whole model at once.
            **kwargs: Other arguments of ``DefaultOptimWrapperConstructor.add_params`` (``is_dcn_module``);
                ignored.

        Raises:
            ValueError: If ``prefix`` is given or the model's layer depths are inconsistent.
        """
        if prefix:
            raise ValueError('LayerDecayOptimWrapperConstructor builds groups for the whole '
                             f'model; add_params got prefix={prefix!r}')
        depth_fn = resolve_layer_depth_fn(module)
        groups: Dict[str, dict] = {}
        expected_layers = None
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            layer_id, num_layers = depth_fn(name)
            if expected_layers is None:
                expected_layers = num_layers
            if num_layers != expected_layers or not 0 <= layer_id < num_layers:
                raise ValueError(f'get_layer_depth({name!r}) returned ({layer_id}, {num_layers}); '
                                 f'expected 0 <= layer_id < num_layers == {expected_layers}')
            custom_key = self._match_custom_key(name)
            custom = self.custom_keys.get(custom_key, {}) if custom_key else {}
            weight_decay = 0.0 if self._is_no_decay(name, len(self._shape(param))) else self.base_wd
            weight_decay *= custom.get('decay_mult', 1.0)
            lr_scale = self.decay_rate ** (num_layers - 1 - layer_id)
            kind = 'decay' if weight_decay > 0 else 'no_decay'
            group_name = f'layer_{layer_id}_{kind}' + (f'_{custom_key}' if custom_key else '')
            if group_name not in groups:
                groups[group_name] = dict(
                    params=[], param_names=[], group_name=group_name, layer_id=layer_id,
                    lr_scale=lr_scale, lr=self.base_lr * lr_scale * custom.get('lr_mult', 1.0),
                    weight_decay=weight_decay)
            groups[group_name]['params'].append(param)
            groups[group_name]['param_names'].append(name)
        if not groups:
            raise ValueError(f'{type(module).__name__} has no trainable parameters')
        unused = [k for k in self.sorted_custom_keys if not any(k in n for g in groups.values()
                                                                for n in g['param_names'])]
        if unused:
            MMLogger.get_current_instance().warning(f'custom_keys {unused} match no trainable parameter')
        # Top layer first: mmengine's RuntimeInfoHook logs the lr of group 0.
        order = sorted(groups, key=lambda g: (-groups[g]['layer_id'], groups[g]['weight_decay'] == 0, g))
        params.extend(groups[g] for g in order)
        self._log_groups(params)

    def _log_groups(self, groups: Sequence[dict]) -> None:
        lines = [f'Layer-wise lr decay: rate={self.decay_rate}, base lr={self.base_lr:.4g}, '
                 f'base weight_decay={self.base_wd:.4g}, {len(groups)} param groups',
                 f'{"group":<40} {"layer":>5} {"lr_scale":>10} {"lr":>11} {"wd":>8} '
                 f'{"#tensors":>8} {"#params":>11}']
        for g in groups:
            numel = sum(self._shape(p).numel() for p in g['params'])
            lines.append(f'{g["group_name"]:<40} {g["layer_id"]:>5} {g["lr_scale"]:>10.4g} '
                         f'{g["lr"]:>11.4e} {g["weight_decay"]:>8.4g} {len(g["params"]):>8} {numel:>11}')
        MMLogger.get_current_instance().info('\n'.join(lines))
