"""House style that ruff does not check: one docstring dialect (ruff.toml).

Arguments are documented as ``name: description`` under ``Args:`` (and ``Attributes:``); their types live in the
type hints. The other Google dialect, ``name (type): description``, is not used.
"""
import ast
import glob
import os.path as osp
import re

from beitmm.testing.shrink import ROOT

SECTION = re.compile(r'^(\s*)(Args|Arguments|Attributes|Keyword Args):\s*$')
TYPED_ARG = re.compile(r'^\s+\*{0,2}\w+ \([^)]*\):')


def typed_arguments(path: str) -> list:
    """``file:line: text`` of every ``name (type):`` entry in an Args / Attributes section of ``path``."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        doc = ast.get_docstring(node, clean=False)
        if not doc:
            continue
        indent = None
        for i, line in enumerate(doc.splitlines()):
            header = SECTION.match(line)
            if header:
                indent = len(header.group(1))
                continue
            if indent is not None and line.strip() and len(line) - len(line.lstrip()) <= indent:
                indent = None  # the section ended
            if indent is not None and TYPED_ARG.match(line):
                start = node.body[0].lineno if hasattr(node, 'body') and node.body else 1
                found.append(f'{osp.relpath(path, ROOT)}:{start + i}: {line.strip()}')
    return found


def test_the_check_finds_the_other_dialect(tmp_path):
    path = tmp_path / 'mod.py'
    path.write_text('def f(x):\n    """Do.\n\n    Args:\n        x (int): A value.\n\n    Returns:\n'
                    '        int (the same): x.\n    """\n')
    assert [v.split(': ', 1)[1] for v in typed_arguments(str(path))] == ['x (int): A value.']


def test_one_docstring_dialect():
    files = [p for d in ('beitmm', 'tools') for p in glob.glob(osp.join(ROOT, d, '**', '*.py'), recursive=True)]
    violations = [v for p in sorted(files) for v in typed_arguments(p)]
    assert not violations, f'{len(violations)} argument(s) documented as "name (type):":\n' + '\n'.join(violations[:30])
