"""Exact resume for classification and BEiT pretraining, and the determinism switch.

A resumed run ends with the same model, optimizer, AMP scaler, schedulers and EMA
(torch.equal) as the uninterrupted run, for classification and pretraining, 0 and 2 dataloader workers;
the ``--deterministic`` switch (MKL_CBWR=AUTO + deterministic algorithms) and the compute-settings check
on resume. The other pretraining families are in test_resume_families.py.
"""
import glob
import importlib.util
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from beitmm.engine.hooks import rng_state
from beitmm.engine.rng import DETERMINISTIC_ENV, compute_settings, get_rng_state
from beitmm.testing.shrink import ROOT

from .helpers import (
    assert_same_training_state,
    cls_config,
    final_checkpoint,
    load,
    maskdistill_config,
    pretrain_config,
    train_and_load,
)


@pytest.fixture(scope='module')
def cls_reference(imagenet_root, tmp_path_factory):
    """Uninterrupted classification run: 2 epochs x 6 iterations, checkpoints at 3, 6, 9, 12."""
    work = str(tmp_path_factory.mktemp('cls_ref'))
    return work, train_and_load(cls_config(imagenet_root, work, workers=0))


@pytest.fixture(scope='module')
def pretrain_reference(unlabeled_root, tmp_path_factory):
    """Uninterrupted pretraining run: 2 epochs x 5 iterations, a checkpoint every iteration."""
    work = str(tmp_path_factory.mktemp('pretrain_ref'))
    return work, train_and_load(pretrain_config(unlabeled_root, work, workers=0))


def _resume(cfg, checkpoint: str) -> dict:
    cfg.resume, cfg.load_from = True, checkpoint
    return train_and_load(cfg)


@pytest.mark.parametrize('ckpt,workers', [('iter_3.pth', 0), ('iter_6.pth', 0), ('iter_3.pth', 2)],
                         ids=['mid-epoch', 'epoch-end', 'mid-epoch-2-workers'])
def test_classification_resume_is_exact(cls_reference, imagenet_root, tmp_path, ckpt, workers):
    ref_dir, ref = cls_reference
    assert 'ema_state_dict' in ref and 'loss_scaler' in ref['optimizer']  # EMA and AMP scaler compared too
    resumed = _resume(cls_config(imagenet_root, str(tmp_path), workers=workers), osp.join(ref_dir, ckpt))
    assert resumed['meta']['iter'] == 12
    assert_same_training_state(ref, resumed)


@pytest.mark.parametrize('ckpt,workers', [('iter_3.pth', 0), ('iter_5.pth', 2)],
                         ids=['mid-epoch', 'epoch-end-2-workers'])
def test_pretraining_resume_is_exact(pretrain_reference, unlabeled_root, tmp_path, ckpt, workers):
    ref_dir, ref = pretrain_reference
    resumed = _resume(pretrain_config(unlabeled_root, str(tmp_path), workers=workers), osp.join(ref_dir, ckpt))
    assert resumed['meta']['iter'] == 10
    assert_same_training_state(ref, resumed)


def _train_tool():
    spec = importlib.util.spec_from_file_location('beitmm_train_tool', osp.join(ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sigkill_during_checkpoint_write_then_resume(cls_reference, imagenet_root, tmp_path):
    """SIGKILL while iter_6.pth is half written: --resume continues from iter_3.pth and ends identical.

    The resumed run removes the killed write's temp file (R5: it used to stay forever) and nothing else.
    """
    work = str(tmp_path / 'work')
    cfg = cls_config(imagenet_root, work, workers=0)
    cfg.custom_imports = dict(imports=['beitmm', 'tests.test_reliability.slow_checkpoint_write'],
                              allow_failed_imports=False)  # the repository root is the import root here and there
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get('PYTHONPATH', '')]),
               BEITMM_TEST_SLOW_WRITE='iter_6.pth', OMP_NUM_THREADS=str(torch.get_num_threads()))
    proc = subprocess.Popen([sys.executable, osp.join(ROOT, 'tools', 'train.py'), path, '--work-dir', work],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while not osp.exists(osp.join(work, 'slow_write_started')):
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        assert time.time() < deadline, 'the training subprocess never reached the checkpoint write'
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    stale = glob.glob(osp.join(work, '.iter_6.pth.*.tmp'))
    assert len(stale) == 1 and re.fullmatch(r'\.iter_6\.pth\.[0-9a-f]{8}\.tmp', osp.basename(stale[0]))
    size = osp.getsize(stale[0])
    assert size > 0 and not osp.exists(osp.join(work, 'iter_6.pth'))
    assert final_checkpoint(work) == osp.join(work, 'iter_3.pth')  # the marker names a complete file only
    kept = ['.iter_6.pth.killed.tmp', '.iter_6.pth.0123abc.tmp', '.iter_6.pth.0123ABCD.tmp', 'iter_6.pth.0123abcd.tmp',
            '.iter_6.pth.0123abcd.tmp.bak', 'notes.txt']  # near misses of the temp-name pattern: not removed
    for name in kept:
        with open(osp.join(work, name), 'w') as f:
            f.write('keep me')
    os.mkdir(osp.join(work, '.folder.0123abcd.tmp'))

    tool = _train_tool()
    args = tool.argparse.Namespace(config=path, cfg_options=None, launcher='none', work_dir=work, amp=False,
                                   auto_scale_lr=False, resume='auto')  # tools/train.py CONFIG --resume
    resumed_cfg = tool.build_cfg(args)
    resumed_cfg.custom_imports = dict(imports=['beitmm'], allow_failed_imports=False)
    assert_same_training_state(cls_reference[1], train_and_load(resumed_cfg))
    assert not osp.exists(stale[0]) and all(osp.isfile(osp.join(work, name)) for name in kept)
    assert osp.isdir(osp.join(work, '.folder.0123abcd.tmp'))
    log = open(max(glob.glob(osp.join(work, '*', '*.log')), key=osp.getmtime)).read()  # the resumed run's log
    assert f"AtomicCheckpointHook: removed '{stale[0]}' ({size:,} bytes), the temp file of a write that was killed" \
        in log and log.count('AtomicCheckpointHook: removed') == 1


def _subprocess_env(threads: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in DETERMINISTIC_ENV and k != 'MKL_VERBOSE'}
    env.update(PYTHONPATH=os.pathsep.join([ROOT, os.environ.get('PYTHONPATH', '')]), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    return env


def test_deterministic_switch_two_2_thread_runs_are_bit_identical(unlabeled_root, tmp_path):
    """``tools/train.py --deterministic``, twice, 2 threads, separate processes: identical final state.

    MKL ran every call in CNR mode (``MKL_VERBOSE`` prints ``CNR:AUTO``: MKL_CBWR reached MKL before its first
    call, though the tool was started without it).
    """
    cfg = maskdistill_config(unlabeled_root, str(tmp_path / 'unused'), epochs=1)
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    states, outputs = [], []
    for run in range(2):
        work = str(tmp_path / f'run{run}')
        env = _subprocess_env(threads=2)
        if run == 1:
            env['MKL_VERBOSE'] = '1'  # one line per MKL call, with its CNR mode
        out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), path, '--work-dir', work,
                              '--deterministic'], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        states.append(load(final_checkpoint(work)))
        outputs.append(out.stdout + out.stderr)
    assert states[0]['meta']['iter'] == 4
    assert_same_training_state(states[0], states[1])
    calls = [ln for ln in outputs[1].splitlines() if ln.startswith('MKL_VERBOSE') and ' CNR:' in ln]
    assert len(calls) > 100 and all(' CNR:AUTO ' in ln and 'NThr:2' in ln for ln in calls), calls[:3]
    assert "num_threads=2, mkl_cbwr='AUTO', deterministic_algorithms=True" in outputs[0]
    assert all(v['beitmm_resume']['compute'] == dict(num_threads=2, mkl_cbwr='AUTO', deterministic_algorithms=True)
               for v in states)


_ALIGNMENT_PROBE = """
import random, torch
torch.set_num_threads(2)
random.seed(0)
torch.manual_seed(0)

def at(t, offset):  # a copy of t starting `offset` elements into a fresh buffer: another alignment mod 64 bytes
    buf = torch.empty(t.numel() + 64, dtype=t.dtype)
    view = buf[offset:offset + t.numel()].view_as(t)
    view.copy_(t)
    return view

mismatches = 0
for trial in range(60):
    m, n, k = (random.randint(1, 400) for _ in range(3))
    dtype = torch.float64 if trial % 5 == 0 else torch.float32
    a, bt = torch.randn(m, k, dtype=dtype), torch.randn(n, k, dtype=dtype)
    ref = a @ bt.t()  # GEMM with a transposed operand, as nn.Linear runs
    mismatches += sum(not torch.equal(ref, at(a, off) @ at(bt, off).t()) for off in (1, 3, 8, 13))
print('MISMATCHES', mismatches)
"""


def test_mkl_cbwr_makes_gemm_independent_of_memory_alignment():
    """With ``MKL_CBWR=AUTO`` (the switch), a GEMM gives the same bits wherever its operands sit in memory.

    Measured on this project's machine (AMD EPYC, MKL 2024.2) without it: 42 of these 240 products differ (39 at
    one thread), by up to 1.7e-5 in float32 and 3.6e-14 in float64.
    """
    env = _subprocess_env(threads=2)
    env.update(DETERMINISTIC_ENV)
    out = subprocess.run([sys.executable, '-c', _ALIGNMENT_PROBE], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'MISMATCHES 0' in out.stdout, out.stdout


def test_resume_with_other_compute_settings_warns(monkeypatch):
    messages = []
    monkeypatch.setattr(rng_state, 'print_log', lambda msg, **kw: messages.append(msg))
    hook = rng_state.ResumeStateHook(check_resume=False)
    runner = type('Runner', (), {'_resume': True})()
    saved = dict(compute_settings(), num_threads=compute_settings()['num_threads'] + 1, mkl_cbwr='COMPATIBLE')
    hook.after_load_checkpoint(runner, {rng_state.RESUME_KEY: dict(rng=get_rng_state(), compute=saved)})
    assert len(messages) == 1 and 'not bit-identically' in messages[0]
    assert f"num_threads: {saved['num_threads']} -> {compute_settings()['num_threads']}" in messages[0]
    assert "mkl_cbwr: 'COMPATIBLE' ->" in messages[0]
    messages.clear()
    hook.after_load_checkpoint(runner, {rng_state.RESUME_KEY: dict(rng=get_rng_state(), compute=compute_settings())})
    assert messages == []  # same settings: no warning
