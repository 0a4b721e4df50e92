"""``benchmark.py the-x --text --arch tiny``: the end-to-end encrypted text run prints its fields."""
import re

import pytest

from tools.benchmarks.__main__ import main

pytest.importorskip('tenseal')


def test_benchmark_the_x_text_tiny_prints_latency_round_trips_and_traffic(capsys):
    main(['the-x', '--text', '--arch', 'tiny', '--tokens', '3'])
    out = capsys.readouterr().out
    assert '3 tokens (1 padding)' in out
    assert re.search(r'per sentence: [0-9.]+ s; round trips: 7 ', out)
    assert re.search(r'traffic: [0-9.]+ MB to the server, [0-9.]+ MB to the client', out)
    rel = float(re.search(r'plaintext approximated model: (\S+)', out).group(1))
    assert rel < 1e-3
    # the MiniLM projection's method applied to the tiny model: its round trips match the run's (+1: the first
    # layer's input trip, counted by the projection)
    assert re.search(r"projection check \(today's op counts x op costs, as for MiniLM\): [0-9.]+ s, 8 round trips", out)
