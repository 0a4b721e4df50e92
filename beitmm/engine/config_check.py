"""Check every ``type=`` of a config before the Runner builds anything, with close-match suggestions.

mmengine reports an unknown type deep inside the build, after the model or dataset was half
built, as "X is not in the model registry" without the config key, and never suggests the name
the user meant ('beitmm.BEIT' for 'beitmm.BEiT'). :func:`check_config_types` walks the whole
config and raises :class:`UnknownTypeError` naming the key path, the config file and the
closest registered names. Scoped names (``'beitmm.X'``) must exist in that scope (or in
mmengine's root registries); unscoped names may come from any scope, since mmengine resolves
them in the scope of the enclosing component.
"""
import difflib
import importlib
from typing import Dict, Iterator, List, Optional, Set, Tuple

from mmengine.config import Config
from mmengine.registry import Registry


class UnknownTypeError(ValueError):
    """A config names a component type that no registry knows."""


# Keys whose ``type`` mmdet looks up in ``mmcv.ops`` by attribute, not in a registry (RoI extractors' ``roi_layer``,
# ``batched_nms``'s ``nms``).
MMCV_OPS_KEYS = ('roi_layer', 'nms')


def _is_mmcv_op(path: str, name: str) -> bool:
    parts = path.split('.')  # '...roi_layer.type'
    if len(parts) < 2 or parts[-2] not in MMCV_OPS_KEYS:
        return False
    try:
        ops = importlib.import_module('mmcv.ops')
    except ImportError:
        return False
    return callable(getattr(ops, name, None))


def _root_registries() -> List[Registry]:
    import mmengine.registry as mmengine_registry
    roots = [v for v in vars(mmengine_registry).values() if isinstance(v, Registry)]
    try:
        import mmpretrain.registry as mmpretrain_registry  # batch augments and tokenizers have no parent
        roots += [v for v in vars(mmpretrain_registry).values() if isinstance(v, Registry) and v.parent is None]
    except ImportError:
        pass
    from beitmm.registry import TEXT_TOKENIZERS  # VL models' text tokenizers: a parentless registry of beitmm's
    roots.append(TEXT_TOKENIZERS)
    return list({id(r): r for r in roots}.values())


def _import_locations(registry: Registry) -> None:
    """Import a registry's lazy ``locations``, letting a broken import raise.

    mmengine's ``Registry.import_from_location`` logs a failing import at DEBUG level and goes on, so a
    syntax error or a missing dependency in a registered module would surface as "unknown type".

    Raises:
        ImportError: Names the location and the registry, chained to the original error.
    """
    if registry.scope == 'mmengine':
        registry.import_from_location()
        return
    for location in getattr(registry, '_locations', []) or []:
        try:
            importlib.import_module(location)
        except ImportError as err:
            raise ImportError(f'{location} (a location of the {registry.scope!r} {registry.name} registry) '
                              f'failed to import: {err}') from err
    registry.import_from_location()


def _import_scope_registry(scope: str) -> None:
    """Import ``{scope}.registry`` as mmengine's ``Registry.get`` would; only a missing package is not an error.

    Raises:
        ImportError: The package exists but its registry module fails to import.
    """
    try:
        importlib.import_module(f'{scope}.registry')
    except ModuleNotFoundError as err:
        if err.name not in (scope, f'{scope}.registry'):
            raise ImportError(f'{scope}.registry failed to import: {err}') from err


def _known_names(import_scopes: Optional[Set[str]] = None) -> Dict[str, Set[str]]:
    """Registered names by scope ('mmengine' holds the root registries).

    Args:
        import_scopes: Import the lazy ``locations`` of these scopes' registries first
            (``{'*'}``: every scope). Defaults to None (no import).
    """
    names: Dict[str, Set[str]] = {}
    import_scopes = import_scopes or set()
    for root in _root_registries():
        for registry in [root, *root._children.values()]:
            if '*' in import_scopes or registry.scope in import_scopes:
                _import_locations(registry)
            names.setdefault(registry.scope, set()).update(registry.module_dict)
    return names


def _types(node, path: str) -> Iterator[Tuple[str, str]]:
    if isinstance(node, dict):
        value = node.get('type')
        if isinstance(value, str):
            yield (f'{path}.type' if path else 'type'), value
        for key, child in node.items():
            if not str(key).startswith('_') and key != 'custom_imports':
                yield from _types(child, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, child in enumerate(node):
            yield from _types(child, f'{path}[{i}]')


def _resolves(name: str, names: Dict[str, Set[str]]) -> bool:
    scope, _, short = name.rpartition('.')
    if not scope:
        return any(short in found for found in names.values())
    return short in names.get(scope, set()) or short in names.get('mmengine', set())


def _suggest(name: str, names: Dict[str, Set[str]]) -> List[str]:
    scope, _, short = name.rpartition('.')
    if scope and scope not in names:
        return [f'{s}.{short}' for s in difflib.get_close_matches(scope, list(names), n=3)]
    pool = sorted(names.get(scope, set()) | names.get('mmengine', set())) if scope else \
        sorted(set().union(*names.values()))
    exact = [n for n in pool if n.lower() == short.lower()]
    close = exact + [n for n in difflib.get_close_matches(short, pool, n=3, cutoff=0.6) if n not in exact]
    return [f'{scope}.{n}' if scope else n for n in close[:3]]


def check_config_types(cfg: Config) -> None:
    """Raise if a ``type`` string of ``cfg`` is registered nowhere.

    Args:
        cfg: A loaded config (``custom_imports`` already applied by ``Config.fromfile``).

    Raises:
        UnknownTypeError: Names the key path, the unknown type, the config file and up to three
            close matches.
    """
    entries = [(p, t) for p, t in _types(cfg.to_dict(), '') if not _is_mmcv_op(p, t)]
    missing = entries
    scopes = {'mmengine', 'beitmm', cfg.get('default_scope') or 'mmengine'}
    for scope in sorted(scopes | {t.rpartition('.')[0] for _, t in entries} - {'', 'mmengine'}):
        _import_scope_registry(scope)
    # lazily registered modules are imported only when needed: the run's scopes first, then all
    for import_scopes in (None, scopes | {t.rpartition('.')[0] for _, t in entries}, {'*'}):
        names = _known_names(import_scopes)
        missing = [(p, t) for p, t in missing if not _resolves(t, names)]
        if not missing:
            return
    lines = []
    for path, name in missing:
        scope = name.rpartition('.')[0]
        hint = _suggest(name, names)
        what = (f"unknown scope '{scope}'" if scope and scope not in names else
                f"not registered in scope '{scope}'" if scope else 'not registered in any scope')
        lines.append(f"  {path} = '{name}': {what}" + (f"; did you mean {' or '.join(repr(h) for h in hint)}?"
                                                          if hint else ''))
    source = f' in {cfg.filename}' if cfg.filename else ''
    raise UnknownTypeError(f'Unknown component type(s){source}:\n' + '\n'.join(lines) +
                           '\nFix the name in the config (or --cfg-options); a plugin module must be listed in '
                           "custom_imports (e.g. custom_imports=dict(imports=['beitmm'])).")
