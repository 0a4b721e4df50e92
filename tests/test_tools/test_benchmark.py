"""tools/benchmarks/ (benchmark.py) runs each task on a tiny arch and prints every field (not a timed test)."""
import os
import re
import subprocess
import sys

import pytest

from tools.benchmarks.__main__ import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py')


@pytest.mark.parametrize('task,extra', [('classification', ['--no-memory']),
                                        ('pretrain', ['--no-memory', '--inference']),
                                        ('segmentation', ['--with-cp'])])
def test_benchmark_task_prints_fields(task, extra, capsys):
    main([task, '--arch', 'tiny-test', '--img-size', '64', '--batch-size', '2', '--precision', 'auto',
                  '--repeats', '1', '--warmup', '0'] + extra)
    out = capsys.readouterr().out
    # 'auto' picks bf16 where the CPU has native bf16 (AMX / AVX512-BF16), fp32 elsewhere
    prec = re.search(r'matmul peak \(GFLOP/s\): (bf16|fp32) [0-9.]+', out).group(1)
    rows = {m.group(1): m for m in re.finditer(
        r'^(beitmm|reference)\s+(fp32|bf16)\s+([0-9.]+)\s+[0-9. ]+?\s{2,}([0-9.]+)\s+([0-9.]+)\s+(\S.*)$', out, re.M)}
    assert set(rows) == {'beitmm', 'reference'}, out
    assert all(float(m.group(3)) > 0 for m in rows.values())  # images/s
    memory = rows['beitmm'].group(6)
    if '--no-memory' in extra:
        assert memory.strip() == 'skipped'
    else:
        assert re.fullmatch(r'\d+ MiB', memory.strip()), memory
    assert re.search(rf'ratio beitmm / fastest reference \({prec}\): [0-9.]+x', out)
    checks = re.findall(rf'numerical check \({prec}, same weights\): (.+) max rel diff (\S+) \(OK', out)
    assert checks and all(float(v) < (1e-4 if prec == 'fp32' else 2e-2) for _, v in checks), out
    assert ('training loss' in dict(checks)) == ('--inference' not in extra)


def test_benchmark_masking_task(capsys):
    main(['masking', '--num-masks', '300', '--repeats', '1'])
    out = capsys.readouterr().out
    assert re.search(r'beitmm transform \(pooled, vectorised\)\s+[0-9.]+ us/mask', out)
    assert re.search(r'mean masked 75\.0', out)
    assert re.search(r'ratio beitmm \(pooled\) / reference: [0-9.]+x', out)


def test_benchmark_rejects_bad_sizes():
    with pytest.raises(ValueError, match='multiple of 32'):
        main(['classification', '--arch', 'tiny-test', '--img-size', '48', '--no-memory'])


def test_benchmark_captioning_task(capsys):
    main(['captioning', '--arch', 'tiny-test', '--img-size', '32', '--batch-size', '2', '--tokens', '6',
                  '--repeats', '1', '--warmup', '0'])
    out = capsys.readouterr().out
    assert re.search(r'captioning beam search: arch=tiny-test .* beams=3 img=32 \(5 image tokens\) tokens=6', out)
    assert re.search(r'cached \(kv cache\)\s+[0-9.]+ s CPU', out) and re.search(r'recompute prefix\s+[0-9.]+ s', out)
    assert re.search(r'ratio recompute / cached: [0-9.]+x speed-up .* identical outputs: yes', out)


def test_benchmark_retrieval_task_counts_one_forward_per_image_and_caption(capsys):
    main(['retrieval', '--arch', 'tiny-test', '--img-size', '32', '--batch-size', '4', '--sizes', '3', '6'])
    out = capsys.readouterr().out
    assert re.search(r'N=\s+3 images \+ M=\s+15 captions: image forwards 3, text forwards 15 \(N \+ M = 18; '
                     r'N x M = 45\)', out)
    assert re.search(r'N=\s+6 images \+ M=\s+30 captions: image forwards 6, text forwards 30', out)
    assert re.search(r'time ratio / size ratio = [0-9.]+', out)


def test_benchmark_seq2seq_task(capsys):
    main(['seq2seq', '--arch', 'tiny-test', '--batch-size', '1', '--tokens', '5', '--num-beams', '2',
                  '--repeats', '1'])
    out = capsys.readouterr().out
    assert re.search(r'ratio recompute / cached: [0-9.]+x speed-up of the cached decoding at 5 target tokens; '
                     r'identical outputs: yes', out)
    assert re.search(r'ratio pseudo-masked / masked-LM step: [0-9.]+x', out)


def test_benchmark_the_x_prints_layers_sizes_and_round_trips(capsys):
    main(['the-x', '--batch-size', '1', '--img-size', '16'])  # 1 patch + cls: seconds
    out = capsys.readouterr().out
    assert 'CKKS N=8192 coeff [60, 40, 40, 60] scale 2^40 (depth 2 between refreshes)' in out
    layers = dict(re.findall(r'^(embed|block[01]\.attention|block[01]\.mlp|head)\s+([0-9.]+)$', out, re.M))
    assert set(layers) == {'embed', 'block0.attention', 'block0.mlp', 'block1.attention', 'block1.mlp', 'head'}
    assert re.search(r'round trips / sample: 17 ', out) and re.search(r'ciphertext: largest \d+ KB', out)
    rel = float(re.search(r'plaintext approximated model: (\S+)', out).group(1))
    assert rel < 1e-3
def test_benchmark_pretrain_data_task(capsys):
    main(['pretrain-data', '--batch-size', '2', '--img-size', '32', '--repeats', '1'])
    out = capsys.readouterr().out
    assert 'step, pairs from jsonl' in out and 'step, pairs from webdataset' in out
    assert 'header walk (resume): beitmm' in out and 'tarfile' in out


def test_benchmark_vl_pretrain_task(capsys):
    main(['vl-pretrain', '--arch', 'tiny-test', '--img-size', '32', '--batch-size', '2', '--repeats', '1',
                  '--warmup', '0'])
    out = capsys.readouterr().out
    assert re.search(r'2 images \+ 2 texts \+ 2 pairs per step', out)
    share = float(re.search(r'ms = ([0-9.]+)% of the step', out).group(1))
    assert 0 < share < 100
    assert re.search(r'samples/s [0-9.]+ \(images \+ texts: [0-9.]+/s', out)
    assert re.search(r'last losses: loss_image [0-9.]+, loss_text [0-9.]+, loss_pair [0-9.]+', out)


def test_benchmark_script_runs_the_package_from_any_folder(tmp_path):
    """The documented command, `python tools/analysis_tools/benchmark.py TASK`, started outside the repository."""
    out = subprocess.run([sys.executable, TOOL, 'masking', '--num-masks', '50', '--repeats', '1'], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.search(r'mean masked 75\.0, corner/centre freq 0\.\d+/0\.\d+', out.stdout)
    assert re.search(r'ratio beitmm \(pooled\) / reference: [0-9.]+x', out.stdout)
