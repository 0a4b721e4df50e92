"""mkdocs hook: the README and the configs READMEs join the site as they are, with their links rewritten.

The Markdown files stay where GitHub shows them (``README.md``, ``configs/<family>/README.md``); this hook adds them
as pages (``index.md``, ``configs/<family>/README.md``) and rewrites every relative link of every page from the
file's place in the repository to its place in the site. A link to a file the site does not hold (a config, a
source file, ``LICENSE``) becomes its plain text: ``tests/test_docs/test_links.py`` checks that it exists.
"""
import glob
import os.path as osp
import posixpath
import re

from mkdocs.structure.files import File

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
LINK = re.compile(r'(!?)\[([^\]]*)\]\(([^)\s]+)\)')
FENCE = re.compile(r'^(```|~~~)')
ITEM = re.compile(r'^(?:[-*]|\d+\.) ')


def repository_pages() -> dict:
    """``{site path: repository path}`` of the Markdown files outside ``docs/`` that the site shows."""
    pages = {'index.md': 'README.md'}
    for path in sorted(glob.glob(osp.join(ROOT, 'configs', '**', 'README.md'), recursive=True)):
        rel = osp.relpath(path, ROOT).replace(osp.sep, '/')
        pages[rel] = rel
    return pages


def site_path(repo_path: str) -> str:
    """Where a repository file lives in the site, or '' when the site does not hold it."""
    pages = {repo: site for site, repo in repository_pages().items()}
    if repo_path in pages:
        return pages[repo_path]
    if repo_path.startswith('docs/') and osp.isfile(osp.join(ROOT, repo_path)):
        return repo_path[len('docs/'):]
    return ''


def rewrite_links(markdown: str, repo_file: str, site_file: str) -> str:
    """Rewrite the relative links of ``repo_file`` (shown at ``site_file``) outside code blocks."""

    def one(match: re.Match) -> str:
        bang, text, target = match.groups()
        if re.match(r'^[a-z][a-z0-9+.-]*:|^#|^/', target):  # a URL, an anchor of this page, an absolute path
            return match.group(0)
        path, _, anchor = target.partition('#')
        repo = posixpath.normpath(posixpath.join(posixpath.dirname(repo_file), path))
        site = site_path(repo)
        if not site:
            return text  # not in the site: keep the words
        new = posixpath.relpath(site, posixpath.dirname(site_file) or '.')
        return f'{bang}[{text}]({new}{"#" + anchor if anchor else ""})'

    out, in_code = [], False
    for line in markdown.split('\n'):
        if FENCE.match(line.lstrip()):
            in_code = not in_code
        out.append(line if in_code else LINK.sub(one, line))
    return '\n'.join(out)


def separate_lists(markdown: str) -> str:
    """Put a blank line before a list that starts right under a paragraph line.

    GitHub renders such a list as a list, Python-Markdown as more paragraph text.
    """
    out, in_code = [], False
    for line in markdown.split('\n'):
        if FENCE.match(line.lstrip()):
            in_code = not in_code
        prev = out[-1] if out else ''
        if (not in_code and ITEM.match(line) and prev.strip() and not ITEM.match(prev)
                and not prev[:1].isspace() and not prev.startswith(('|', '#', '>'))):
            out.append('')
        out.append(line)
    return '\n'.join(out)


def on_files(files, config):
    """Add the README (as the home page) and the configs READMEs to the site."""
    for site, repo in repository_pages().items():
        files.append(File.generated(config, site, abs_src_path=osp.join(ROOT, repo)))
    return files


def on_page_markdown(markdown, page, config, files):
    """Rewrite the page's links from its repository place to its site place."""
    site = page.file.src_uri
    repo = repository_pages().get(site, f'docs/{site}')
    return separate_lists(rewrite_links(markdown, repo, site))
