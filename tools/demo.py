"""`make demo` / `python tools/demo.py [--task NAME] [options]`: the demos of each model family.

The demos live in the package tools/demo/ (`--help` lists the tasks and options); this script runs its
command line, after switching to the repository's .venv where needed (tools/_bootstrap.py). From the repository
root, `python -m tools.demo` is the same with an interpreter that has the dependencies.
"""
import os.path as osp
import runpy

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '_bootstrap.py'))  # .venv/bin/python where needed

from demo.__main__ import main  # the package tools/demo/, beside this script

if __name__ == '__main__':
    main()
