"""The documentation's links and paths resolve, and nothing cites a document that is not in the repository.

Checked in the Markdown a reader follows: ``README.md``, ``docs/**/*.md`` and ``configs/**/README.md``. Every
relative link must name an existing file (and an existing heading, GitHub's anchor of it, after ``#``), and every
repository path written as code (`` `beitmm/...` ``, `` `configs/...` ``, ...) must exist, so a moved file or a
renamed config shows up here. ``make lint`` runs this file and ``mkdocs build --strict``.
"""
import glob
import importlib.util
import itertools
import os
import os.path as osp
import re
import subprocess
import sys
from typing import Dict, List, Set

import pytest

from beitmm.testing.shrink import ROOT

LINK = re.compile(r'!?\[([^\]]*)\]\(([^)\s]+)\)')
HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')
CODE_PATH = re.compile(r'`((?:beitmm|configs|tools|tests|docs|requirements)/[^`\s]+)`')
FENCE = re.compile(r'^\s*(```|~~~)')
# Documents that were never part of the repository (project notes of the people who wrote it), and the labels of
# their findings. The names are split so that this file does not match itself.
EXTERNAL = re.compile('|'.join([
    r'\b(?:multimodal|language-and-privacy|beit-family|gaps|style-review(?:-2)?|review-(?:vision|multimodal))\.md\b',
    'language-and-' + r'privacy\b', 'beit-' + r'family (?:reference|\.md|§)', r'\breview ' + r'[A-Z]\d+\b',
    r'\bfindings ' + r'F\d', r'/work/' + r'(?:sbs|shared|unilm-ref)\b',
]))


def markdown_files() -> List[str]:
    """The Markdown a reader follows, relative to the repository root."""
    files = ['README.md'] + glob.glob('docs/**/*.md', root_dir=ROOT, recursive=True)
    return sorted(files + glob.glob('configs/**/README.md', root_dir=ROOT, recursive=True))


def prose_lines(path: str) -> List[str]:
    """The lines of ``path`` outside fenced code blocks (code lines become '')."""
    with open(osp.join(ROOT, path), encoding='utf-8') as f:
        lines, in_code = [], False
        for line in f.read().split('\n'):
            if FENCE.match(line):
                in_code = not in_code
                lines.append('')
            else:
                lines.append('' if in_code else line)
    return lines


def github_anchor(title: str) -> str:
    """GitHub's anchor of a heading: its text lower-cased, punctuation dropped, spaces as hyphens."""
    title = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', title).replace('`', '').replace('*', '')
    return re.sub(r'[^\w\- ]', '', title.lower()).replace(' ', '-')


def anchors(path: str) -> Set[str]:
    """Anchors of the headings of a Markdown file (repeated titles get -1, -2, ... as on GitHub)."""
    seen: Dict[str, int] = {}
    for line in prose_lines(path):
        found = HEADING.match(line)
        if found:
            slug = github_anchor(found.group(2))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            if n:
                seen[f'{slug}-{n}'] = 1
    return set(seen)


def link_problems(path: str) -> List[str]:
    """``file:line: problem`` of every relative link of ``path`` that does not resolve."""
    problems = []
    for number, line in enumerate(prose_lines(path), 1):
        for _, target in LINK.findall(line):
            if re.match(r'^[a-z][a-z0-9+.-]*:', target):
                continue  # a URL
            rel, _, anchor = target.partition('#')
            dest = osp.normpath(osp.join(osp.dirname(path), rel)) if rel else path
            if not osp.exists(osp.join(ROOT, dest)):
                problems.append(f'{path}:{number}: {target} ({dest} does not exist)')
            elif anchor and dest.endswith('.md') and anchor not in anchors(dest):
                problems.append(f'{path}:{number}: {target} (no heading of {dest} has the anchor #{anchor})')
    return problems


def expand_braces(pattern: str) -> List[str]:
    """``a/{b,c}_{d,e}.py`` -> the four paths (shell brace expansion, one level)."""
    parts = re.split(r'(\{[^{}]*\})', pattern)
    choices = [p[1:-1].split(',') if p.startswith('{') and p.endswith('}') else [p] for p in parts]
    return [''.join(c) for c in itertools.product(*choices)]


def config_families() -> List[str]:
    """The folders of ``configs/`` (``beit``, ``beit3``, ...)."""
    return sorted(d for d in os.listdir(osp.join(ROOT, 'configs')) if osp.isdir(osp.join(ROOT, 'configs', d)))


def written_paths(path: str, line: str) -> List[str]:
    """Repository paths written as code in ``line``.

    Rooted ones (`` `beitmm/...` ``), and in the README and docs pages the config paths written from ``configs/``
    (`` `beit3/beit3-b_in1k.py` ``) unless ``unilm`` precedes them (unilm's ``beit3/`` has the same name).
    """
    found = CODE_PATH.findall(line)
    if not path.startswith('configs/'):
        family = re.compile(r'(?<!unilm )`((?:%s)/[^`\s]+\.py)`' % '|'.join(map(re.escape, config_families())))
        found += [f'configs/{p}' for p in family.findall(line)]
    return found


def path_problems(path: str) -> List[str]:
    """``file:line: path`` of every repository path written as code in ``path`` that matches no file."""
    problems = []
    for number, line in enumerate(prose_lines(path), 1):
        for written in written_paths(path, line):
            candidate = re.sub(r'<[^>]+>', '*', written.split('::')[0].rstrip('.,;:'))  # configs/<family>/...
            if not any(glob.glob(p, root_dir=ROOT) for p in expand_braces(candidate)):
                problems.append(f'{path}:{number}: {written}')
    return problems


def test_anchor_rule_and_brace_expansion():
    assert github_anchor('Pretraining: masked data modeling (from the paper; no official code exists)') == \
        'pretraining-masked-data-modeling-from-the-paper-no-official-code-exists'
    assert github_anchor('Measured here (`python tools/demo.py --task the-x`, seeds)') == \
        'measured-here-python-toolsdemopy---task-the-x-seeds'
    assert expand_braces('a/{b,c}_{d,e}.py') == ['a/b_d.py', 'a/b_e.py', 'a/c_d.py', 'a/c_e.py']
    cited = ['(multimodal' + '.md §1.9)', 'language-and-' + 'privacy §1.3', 'review ' + 'F8', 'findings ' + 'F1-F12',
             '`/work/' + 'sbs/vltasks/`', 'see review-' + 'vision.md']
    assert all(EXTERNAL.search(c) for c in cited)
    assert not any(EXTERNAL.search(c) for c in ('docs/methods/vl_tasks.md', 'unilm #1382', 'a review of the code'))


def test_the_checks_find_broken_links_and_paths(tmp_path, monkeypatch):
    import tests.test_docs.test_links as mod
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'a.md').write_text('# Title\n\n[ok](b.md#part) [gone](c.md) [bad](b.md#nope)\n'
                                            '`docs/<page>.md` `docs/x_{1,2}.md`\n```\n[in code](nowhere.md)\n```\n')
    (tmp_path / 'docs' / 'b.md').write_text('## Part\n`beit/a.py` `beit/gone.py`, unilm `beit/gone.py`\n')
    (tmp_path / 'docs' / 'x_1.md').write_text('')
    (tmp_path / 'configs' / 'beit').mkdir(parents=True)
    (tmp_path / 'configs' / 'beit' / 'a.py').write_text('')
    monkeypatch.setattr(mod, 'ROOT', str(tmp_path))
    assert [p.split(': ', 1)[1] for p in mod.link_problems('docs/a.md')] == [
        'c.md (docs/c.md does not exist)', 'b.md#nope (no heading of docs/b.md has the anchor #nope)']
    assert mod.path_problems('docs/a.md') == []
    assert mod.path_problems('docs/b.md') == ['docs/b.md:2: configs/beit/gone.py']
    (tmp_path / 'docs' / 'x_1.md').unlink()
    assert mod.path_problems('docs/a.md') == ['docs/a.md:4: docs/x_{1,2}.md']


def test_every_relative_link_resolves():
    files = markdown_files()
    assert 'README.md' in files and 'docs/model_zoo.md' in files and 'configs/beit3/README.md' in files
    problems = [p for f in files for p in link_problems(f)]
    assert not problems, f'{len(problems)} broken link(s):\n' + '\n'.join(problems)


def test_every_repository_path_in_the_docs_exists():
    problems = [p for f in markdown_files() for p in path_problems(f)]
    assert not problems, f'{len(problems)} path(s) that match no file (moved or renamed?):\n' + '\n'.join(problems)


def test_no_file_cites_a_document_outside_the_repository():
    tracked = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split('\n')
    found = []
    for rel in filter(None, tracked):
        path = osp.join(ROOT, rel)
        if osp.abspath(path) == osp.abspath(__file__) or not osp.isfile(path):
            continue
        try:
            with open(path, encoding='utf-8') as f:
                text = f.read()
        except UnicodeDecodeError:
            continue  # binary (figures)
        for number, line in enumerate(text.split('\n'), 1):
            if EXTERNAL.search(line):
                found.append(f'{rel}:{number}: {line.strip()[:120]}')
    assert not found, ('cite the upstream file and function instead (or a page that ships):\n' + '\n'.join(found))


def test_hook_rewrites_links_for_the_site():
    pytest.importorskip('mkdocs', reason='the docs requirements (requirements/docs.txt) are not installed')
    spec = importlib.util.spec_from_file_location('beitmm_docs_hooks', osp.join(ROOT, 'docs', 'hooks.py'))
    hooks = importlib.util.module_from_spec(spec)  # mkdocs' hook file, not a package module
    spec.loader.exec_module(hooks)
    text = ('[zoo](../../docs/model_zoo.md#vision) [cfg](beit3-b_pretrain_vl-corpus.py)'
            ' ![f](../../docs/electra/cim_curves.png) [v](../vlmo/README.md) [web](https://arxiv.org) [here](#configs)')
    assert hooks.rewrite_links(text, 'configs/beit3/README.md', 'configs/beit3/README.md') == (
        '[zoo](../../model_zoo.md#vision) cfg ![f](../../electra/cim_curves.png) [v](../vlmo/README.md) '
        '[web](https://arxiv.org) [here](#configs)')
    assert hooks.rewrite_links('[a](docs/demo.md) [b](configs/beit/README.md) [c](LICENSE)', 'README.md',
                               'index.md') == '[a](demo.md) [b](configs/beit/README.md) c'
    assert hooks.separate_lists('Text:\n- a\n  more\n- b\n\n```\nx\n- y\n```') == \
        'Text:\n\n- a\n  more\n- b\n\n```\nx\n- y\n```'


def test_the_docs_build_without_warnings(tmp_path):
    pytest.importorskip('mkdocs', reason='the docs requirements (requirements/docs.txt) are not installed')
    out = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '--site-dir', str(tmp_path / 'site')],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, NO_MKDOCS_2_WARNING='1'))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert osp.isfile(tmp_path / 'site' / 'configs' / 'beit3' / 'index.html')
