"""benchmark.py electra: one timed step per sampling setting, ratios to plain sampling."""
import re

from tools.benchmarks.__main__ import main


def test_benchmark_electra_task(capsys):
    main(['electra', '--arch', 'tiny', '--batch-size', '2', '--repeats', '1', '--warmup', '0'])
    out = capsys.readouterr().out
    assert 'arch tiny, batch 2' in out
    for name in ('plain', 'hardness', 'focal'):
        assert re.search(rf'{name}\s+[0-9.]+ s\s+x[0-9.]+ of plain', out), out
