"""Make ``python tools/...`` work in a new shell after ``make demo`` / ``make test``.

Every tool runs this file first, by its path (``runpy.run_path``: no import root to set up, so it works whether
the tool is run as a script or loaded by a test), before importing anything outside the standard library. When the
interpreter that started the tool cannot import beitmm's dependencies (a fresh shell where ``.venv`` is not
activated) and the repository's ``.venv`` exists, the tool is re-run with ``.venv/bin/python``, same arguments.
An interpreter that has the dependencies (an activated ``.venv``, or your own environment) is used as it is.
Set ``BEITMM_NO_VENV=1`` to never switch.
"""
import importlib.util
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
VENV = osp.join(ROOT, '.venv')
VENV_PYTHON = osp.join(VENV, 'bin', 'python')


def _has_dependencies() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ('torch', 'mmengine', 'beitmm'))


if os.environ.get('BEITMM_NO_VENV') != '1' and not _has_dependencies() and osp.isfile(VENV_PYTHON) \
        and osp.realpath(sys.prefix) != osp.realpath(VENV):  # .venv/bin/python is a link to the base interpreter
    # sys.orig_argv: the command line as typed (run_path points sys.argv[0] at this file while it runs)
    os.execv(VENV_PYTHON, [VENV_PYTHON, *sys.orig_argv[1:]])
