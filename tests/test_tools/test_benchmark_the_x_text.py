"""``benchmark.py the-x --text --arch tiny``: both circuits end to end, their figures and the projection check."""
import re

import pytest

from tools.benchmarks.__main__ import main

pytest.importorskip('tenseal')


def test_benchmark_the_x_text_tiny_runs_both_circuits_and_prints_their_figures(capsys):
    main(['the-x', '--text', '--arch', 'tiny', '--tokens', '3'])
    out = capsys.readouterr().out
    assert '3 tokens (1 padding)' in out
    # one layer: today's 7 trips (5 attention, residual, ReLU); packed 9 + the output norm's columns
    for name, trips in (('token', 7), ('packed', 10)):
        line = re.search(rf'^{name} +per sentence: [0-9.]+ s; round trips: {trips} .*', out, re.M)
        assert line, (name, out)
        assert re.search(r'traffic: [0-9.]+ MB to the server, [0-9.]+ MB to the client', line.group(0))
        assert float(re.search(r'plaintext approximated model: (\S+)', line.group(0)).group(1)) < 1e-3
    assert float(re.search(r'speed-up packed vs today \(token\), measured: ([0-9.]+)x', out).group(1)) > 0
    # the MiniLM projection's method applied to the tiny model: its round trips match the run's (+1: the first
    # layer's input trip, counted by the projection)
    assert re.search(r"projection check \(today's op counts x op costs, as for MiniLM\): [0-9.]+ s, 8 round trips", out)
