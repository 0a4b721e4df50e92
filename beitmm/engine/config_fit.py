"""Keep head and neck widths in step with ``model.backbone.arch`` (``--cfg-options model.backbone.arch=tiny``).

A config is written for one architecture: its head's ``in_channels``, the neck's ``embed_dim`` and the decode heads'
``in_channels`` repeat the backbone width (768 for base). Overriding only ``model.backbone.arch`` would then build a
model whose parts do not fit. :func:`fit_widths_to_backbone` rewrites those fields when they hold the width of
another preset of the same backbone family (its ``arch_zoo``), and says so in the log; other values are left alone.
"""
from typing import Any, List, Optional, Sequence

from mmengine.config import Config

# (component key, field) pairs that carry the backbone width in beitmm's classification / segmentation configs
WIDTH_FIELDS = (('head', 'in_channels'), ('neck', 'embed_dim'), ('neck', 'in_channels'),
                ('decode_head', 'in_channels'), ('auxiliary_head', 'in_channels'))


def _arch_zoo(type_name: Any) -> Optional[dict]:
    if not isinstance(type_name, str):
        return getattr(type_name, 'arch_zoo', None)
    scope, _, name = type_name.rpartition('.')
    if scope not in ('', 'beitmm'):
        return None
    from beitmm.registry import MODELS
    cls = MODELS.get(name)
    return getattr(cls, 'arch_zoo', None) if cls is not None else None


def _refit(value: Any, width: int, presets: Sequence[int]) -> Any:
    if isinstance(value, int) and value in presets and value != width:
        return width
    if isinstance(value, (list, tuple)) and value and len(set(value)) == 1 and value[0] in presets \
            and value[0] != width:
        return type(value)([width] * len(value))
    return value


def fit_widths_to_backbone(cfg: Config) -> List[str]:
    """Rewrite head / neck widths that belong to another preset of the backbone's family (in place).

    Args:
        cfg: A loaded config.

    Returns:
        One line per changed field, for the log.
    """
    model = cfg.get('model') or {}
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not isinstance(backbone, dict) or not isinstance(backbone.get('arch'), str):
        return []
    zoo = _arch_zoo(backbone.get('type'))
    arch = backbone['arch']
    if not zoo or arch not in zoo:
        return []
    width = zoo[arch]['embed_dims']
    presets = sorted({a['embed_dims'] for a in zoo.values()})
    changes = []
    for component, field in WIDTH_FIELDS:
        part = model.get(component)
        if not isinstance(part, dict) or field not in part:
            continue
        new = _refit(part[field], width, presets)
        if new != part[field]:
            changes.append(f'model.{component}.{field}: {part[field]} -> {new} (model.backbone.arch={arch!r} is '
                           f'{width} wide)')
            part[field] = new
    return changes
