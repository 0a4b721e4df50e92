"""benchmark.py detection: beitmm's Mask R-CNN against mmdet's ViTDet ``ViT``.

A transcription stands in for the mmdetection source checkout (``vitdet_stub``): same heads, and with
``--det-backbone plain`` the same network.
"""
import os
import re

import pytest

from tools.benchmarks.__main__ import main

STUB = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'vitdet_stub')
TINY = ['--arch', 'tiny-test', '--img-size', '64', '--batch-size', '1', '--repeats', '1', '--warmup', '0',
        '--no-memory', '--mmdet-src', STUB]


def test_plain_backbone_matches_vitdet_and_prints_ratio(capsys):
    """ViTDet's weights in beitmm's BEiT (key bias dropped) give the same pyramid maps and RPN losses."""
    main(['detection', '--det-backbone', 'plain', '--clock', 'cpu'] + TINY)
    out = capsys.readouterr().out
    assert re.search(r'detection training step: arch=tiny-test batch=1 img=64 device=cpu .* clock=cpu', out)
    rows = re.findall(r'^(beitmm|reference)\s+fp32\s+([0-9.]+)\s', out, re.M)
    assert {r[0] for r in rows} == {'beitmm', 'reference'} and all(float(r[1]) > 0 for r in rows)
    assert re.search(r'ratio beitmm / fastest reference \(fp32\): [0-9.]+x', out)
    diffs = dict(re.findall(r'numerical check \(fp32, same weights\): (.+) max rel diff (\S+) \(OK', out))
    assert set(diffs) == {'pyramid maps', 'rpn losses'}, out
    assert all(float(v) < 1e-4 for v in diffs.values())


def test_beit_backbone_runs_against_vitdet_rel_pos(capsys):
    """The default compares each backbone as configured (different networks: no numerical check)."""
    main(['detection', '--inference'] + TINY)
    out = capsys.readouterr().out
    assert re.search(r'detection inference: arch=tiny-test', out)
    assert 'numerical check: skipped (different networks' in out
    assert re.search(r'ratio beitmm / fastest reference \(fp32\): [0-9.]+x', out)


def test_detection_needs_the_mmdet_source(tmp_path):
    with pytest.raises(SystemExit, match='source repository only'):
        main(['detection', '--arch', 'tiny-test', '--img-size', '64', '--no-memory'])
    with pytest.raises(SystemExit, match='projects/ViTDet/vitdet/__init__.py not found'):
        main(['detection', '--arch', 'tiny-test', '--img-size', '64', '--no-memory', '--mmdet-src', str(tmp_path)])
