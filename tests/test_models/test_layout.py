"""Layout of ``beitmm.models``: one folder per component kind, folders meet only through their packages.

Every import inside ``beitmm/models/<folder>/`` that reaches another folder must name that folder's package
(``from ..heads import MLMHead``), never one of its modules (``from ..heads.mlm_head import MLMHead``), and the
folders' import graph has no cycle: shared kinds (layers, heads, losses, backbones, generation, ...) sit below the
algorithms and task models that use them. Imports inside functions count too.
"""
import ast
import os.path as osp
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import beitmm

MODELS_DIR = Path(osp.dirname(beitmm.__file__)) / 'models'  # read, not imported
FOLDERS = sorted(p.name for p in MODELS_DIR.iterdir() if (p / '__init__.py').is_file())


def _module_name(path: Path) -> str:
    parts = path.relative_to(MODELS_DIR.parent.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _imported(path: Path) -> List[Tuple[int, str, bool]]:
    """``(line, absolute module, by_name)`` of every import in ``path``.

    ``from .x import y`` gives ``(.., 'pkg.x', False)`` and ``(.., 'pkg.x.y', True)``: ``y`` may be a submodule.
    """
    tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
    package = _module_name(path) if path.name == '__init__.py' else _module_name(path).rpartition('.')[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, False) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                module = '.'.join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.append((node.lineno, module, False))
            found += [(node.lineno, f'{module}.{a.name}', True) for a in node.names]
    return found


def _folder_of(module: str) -> Tuple[Optional[str], Optional[str]]:
    """``beitmm.models.heads.mlm_head`` -> ('heads', 'mlm_head'); outside a folder: (None, None)."""
    parts = module.split('.')
    if parts[:2] != ['beitmm', 'models'] or len(parts) < 3 or parts[2] not in FOLDERS:
        return None, None
    inner = parts[3] if len(parts) > 3 else None
    return parts[2], inner


def _exported(folder: str) -> Set[str]:
    """Names the folder's ``__init__.py`` binds by import (a function may share its module's name)."""
    tree = ast.parse((MODELS_DIR / folder / '__init__.py').read_text(encoding='utf-8'))
    return {a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom) for a in node.names}


def _is_module(folder: str, name: str) -> bool:
    """Whether ``beitmm.models.<folder>.<name>`` is one of the folder's modules rather than a name it exports."""
    if name in _exported(folder):
        return False
    return (MODELS_DIR / folder / f'{name}.py').is_file() or (MODELS_DIR / folder / name / '__init__.py').is_file()


def import_graph() -> Tuple[Dict[str, Set[str]], List[str]]:
    """Folder -> folders it imports, and the imports of another folder's modules (``file:line: module``)."""
    graph: Dict[str, Set[str]] = {f: set() for f in FOLDERS}
    violations: Dict[str, None] = {}  # ordered, without repeats
    for folder in FOLDERS:
        for path in sorted((MODELS_DIR / folder).rglob('*.py')):
            for line, module, by_name in _imported(path):
                if module == 'beitmm.models':
                    violations[f'{path.relative_to(MODELS_DIR)}:{line}: {module} (the root package)'] = None
                target, inner = _folder_of(module)
                if target is None or target == folder:
                    continue
                graph[folder].add(target)
                if inner is not None and (not by_name or module.count('.') > 3 or _is_module(target, inner)):
                    violations[f'{path.relative_to(MODELS_DIR)}:{line}: beitmm.models.{target}.{inner}'] = None
    return graph, list(violations)


def find_cycle(graph: Dict[str, Set[str]]) -> Optional[List[str]]:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None."""
    state: Dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: List[str]) -> Optional[List[str]]:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                found = visit(nxt, path + [node])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [])
            if found:
                return found
    return None


def test_folders_import_each_other_only_through_their_packages():
    _, violations = import_graph()
    assert not violations, ('imports of another beitmm.models folder\'s module (import its package instead, and '
                            're-export the name from its __init__):\n' + '\n'.join(violations))


def test_folder_import_graph_has_no_cycle():
    graph, _ = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, f'import cycle among beitmm.models folders: {" -> ".join(cycle)}'


def test_the_checks_find_a_sideways_import_and_a_cycle(tmp_path, monkeypatch):
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': set()}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set(), 'c': {'a', 'b'}}) is None
    root = tmp_path / 'beitmm' / 'models'
    for folder in ('heads', 'algorithms'):
        (root / folder).mkdir(parents=True)
        (root / folder / '__init__.py').write_text('')
    (root / '__init__.py').write_text('')
    (root / 'heads' / 'mlm_head.py').write_text('from ..algorithms import X\n')
    (root / 'algorithms' / 'mdm.py').write_text('def f():\n    from ..heads.mlm_head import MLMHead\n')
    monkeypatch.setattr(sys.modules[__name__], 'MODELS_DIR', root)
    monkeypatch.setattr(sys.modules[__name__], 'FOLDERS', ['algorithms', 'heads'])
    graph, violations = import_graph()
    assert graph == {'algorithms': {'heads'}, 'heads': {'algorithms'}}
    assert violations == ['algorithms/mdm.py:2: beitmm.models.heads.mlm_head']
    assert find_cycle(graph) == ['algorithms', 'heads', 'algorithms']
