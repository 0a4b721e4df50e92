"""`python tools/analysis_tools/benchmark.py TASK [options]`: beitmm against the reference implementations.

The benchmarks live in the package tools/benchmarks/ (`--help` lists the tasks and options); this script runs its
command line, after switching to the repository's .venv where needed (tools/_bootstrap.py). From the repository
root, `python -m tools.benchmarks TASK` is the same with an interpreter that has the dependencies.
"""
import importlib
import importlib.util
import os.path as osp
import runpy
import sys
from typing import Callable

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed


def load_main() -> Callable:
    """``main`` of the package tools/benchmarks/, imported by its location (this folder is the only import root).

    Returns:
        ``tools.benchmarks.__main__.main``.
    """
    package = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'benchmarks')
    if 'tools.benchmarks' not in sys.modules:
        spec = importlib.util.spec_from_file_location('tools.benchmarks', osp.join(package, '__init__.py'),
                                                      submodule_search_locations=[package])
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return importlib.import_module('tools.benchmarks.__main__').main


if __name__ == '__main__':
    load_main()()
