"""Widths that follow another module's width: declared in the config, resolved when the model is built.

A neck or head that reads the backbone's features repeats the backbone's width (768 for a base BEiT). beitmm's
configs declare that relation in place of the number::

    neck=dict(type='beitmm.LinearProbeNeck', in_channels=dict(follows='backbone')),  # = backbone width
    head=dict(type='LinearClsHead', in_channels=dict(follows='backbone', factor=2)),  # [cls ; mean]: 2 x width
    decode_head=dict(in_channels=[dict(follows='backbone')] * 4),                    # a list: element-wise

:func:`resolve_widths` (``build_runner`` and ``init_model`` call it) replaces each relation by ``factor`` times the
width of ``model.<follows>``, read from its ``arch``: a preset name of the module class's ``arch_zoo``, or a dict
with ``embed_dims``. ``--cfg-options model.backbone.arch=tiny`` alone therefore gives a model whose parts fit. A
number given in a config, on the command line or in Python replaces the relation and is never rewritten.

Not an mmengine mechanism because mmengine has none for this: ``{{_base_.x}}`` and the variables of Python-style
configs are evaluated when the file is read, before the command-line overrides.
"""
from typing import Any, List, Optional

from mmengine.config import Config

RELATION_KEYS = {'follows', 'factor'}


def is_width_relation(value: Any) -> bool:
    """Whether ``value`` is a width relation (``dict(follows=..., factor=...)``).

    Args:
        value: A config value.

    Returns:
        True for a dict with ``follows`` and no keys other than ``follows`` / ``factor``.
    """
    return isinstance(value, dict) and 'follows' in value and set(value) <= RELATION_KEYS


def _arch_zoo(type_name: Any) -> Optional[dict]:
    if not isinstance(type_name, str):
        return getattr(type_name, 'arch_zoo', None)
    from beitmm.registry import MODELS
    cls = MODELS.get(type_name)  # 'beitmm.BEiT', or a name found from beitmm's scope
    return getattr(cls, 'arch_zoo', None) if cls is not None else None


def module_width(module: dict, where: str = 'model.backbone') -> int:
    """Width (``embed_dims``) of a module config from its ``arch``.

    Args:
        module: The module's config dict (``type`` and ``arch``).
        where: Its key in the config, for the error message.

    Returns:
        The width.

    Raises:
        ValueError: When the arch gives no width (not a preset of the class's ``arch_zoo``, no ``embed_dims``).
    """
    arch = module.get('arch')
    if isinstance(arch, dict) and 'embed_dims' in arch:
        return int(arch['embed_dims'])
    if isinstance(arch, str):
        zoo = _arch_zoo(module.get('type')) or {}
        preset = zoo.get(arch, zoo.get(arch.lower()))
        if isinstance(preset, dict) and 'embed_dims' in preset:
            return int(preset['embed_dims'])
    raise ValueError(f'{where} (type {module.get("type")!r}, arch {arch!r}) has no width beitmm can read (a preset '
                     "of the class's arch_zoo or a dict with embed_dims): set the widths that follow it explicitly")


def _resolve(value: Any, model: dict, key: str, changes: List[str]) -> Any:
    if isinstance(value, (list, tuple)) and any(is_width_relation(v) for v in value):
        return type(value)(_resolve(v, model, f'{key}[{i}]', changes) for i, v in enumerate(value))
    if is_width_relation(value):
        follows, factor = value['follows'], value.get('factor', 1)
        module: Any = model
        for part in follows.split('.'):
            module = module.get(part) if isinstance(module, dict) else None
        if not isinstance(module, dict):
            raise KeyError(f'{key} follows model.{follows}, which the config does not have')
        width = module_width(module, f'model.{follows}')
        changes.append(f'{key}: follows model.{follows} (arch {module.get("arch")!r}, {width} wide) x {factor} '
                       f'= {width * factor}')
        return width * factor
    if isinstance(value, dict):
        for k, v in value.items():
            new = _resolve(v, model, f'{key}.{k}', changes)
            if new is not v:
                value[k] = new
    return value


def resolve_widths(cfg: Config) -> List[str]:
    """Replace every width relation under ``cfg.model`` by its value (in place).

    Args:
        cfg: A loaded config (command-line overrides merged).

    Returns:
        One line per resolved field, for the log.
    """
    changes: List[str] = []
    model = cfg.get('model')
    if isinstance(model, dict):
        _resolve(model, model, 'model', changes)
    return changes
