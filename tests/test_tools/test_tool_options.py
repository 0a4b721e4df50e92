"""Every tool that reads a config takes --cfg-options; tools run from a shell where .venv is not activated."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest

from beitmm.testing.shrink import ROOT

TOOLS = sorted(p for p in glob.glob(osp.join(ROOT, 'tools', '**', '*.py'), recursive=True)
               if not osp.basename(p).startswith('_'))


def _reads_a_config(path: str) -> bool:
    with open(path) as f:
        src = f.read()
    return "add_argument('config'" in src or "add_argument('--cls-config'" in src


CONFIG_TOOLS = [p for p in TOOLS if _reads_a_config(p)]


def test_the_config_reading_tools_are_found():
    names = {osp.relpath(p, ROOT) for p in CONFIG_TOOLS}
    assert {'tools/train.py', 'tools/test.py', 'tools/analysis_tools/knn_eval.py',
            'tools/visualization/visualize_mim.py', 'tools/visualization/visualize_cim.py',
            'tools/visualization/visualize_predictions.py'} <= names


@pytest.mark.parametrize('path', CONFIG_TOOLS, ids=[osp.relpath(p, ROOT) for p in CONFIG_TOOLS])
def test_config_tools_take_cfg_options(path):
    out = subprocess.run([sys.executable, path, '--help'], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert '--cfg-options' in out.stdout


def _base_python() -> str:
    return osp.join(sys.base_prefix, 'bin', 'python3')


def test_tools_find_the_venv_from_a_fresh_shell():
    """README commands (`python tools/train.py ...`) work in a new shell after `make demo`, .venv not activated."""
    if osp.realpath(sys.prefix) != osp.realpath(osp.join(ROOT, '.venv')):
        pytest.fail('run the suite with the repository .venv (make test)')
    env = {k: v for k, v in os.environ.items() if k not in ('VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME')}
    env['PATH'] = os.pathsep.join(p for p in env.get('PATH', '').split(os.pathsep) if '.venv' not in p)
    base = _base_python()
    has_deps = subprocess.run([base, '-c', 'import torch, mmengine'], env=env, capture_output=True).returncode == 0
    for tool in ('tools/train.py', 'tools/analysis_tools/knn_eval.py', 'tools/demo.py'):
        out = subprocess.run([base, tool, '--help'], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
        assert out.returncode == 0 and 'usage' in out.stdout, out.stderr[-2000:]
        if not has_deps and tool != 'tools/demo.py':  # demo.py's --help needs no dependency (imports are lazy)
            # without the switch the base interpreter cannot even import the tool's dependencies
            off = subprocess.run([base, tool, '--help'], capture_output=True, text=True, cwd=ROOT, timeout=120,
                                 env=dict(env, BEITMM_NO_VENV='1'))
            assert off.returncode != 0 and 'No module named' in off.stderr
