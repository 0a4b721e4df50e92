"""benchmark.py electra: one timed step per sampling setting, ratios to plain sampling."""
import importlib.util
import os.path as osp
import re

TOOL = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools', 'analysis_tools',
                'benchmark.py')


def test_benchmark_electra_task(capsys):
    spec = importlib.util.spec_from_file_location('beitmm_benchmark_tool', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(['electra', '--arch', 'tiny', '--batch-size', '2', '--repeats', '1', '--warmup', '0'])
    out = capsys.readouterr().out
    assert 'arch tiny, batch 2' in out
    for name in ('plain', 'hardness', 'focal'):
        assert re.search(rf'{name}\s+[0-9.]+ s\s+x[0-9.]+ of plain', out), out
