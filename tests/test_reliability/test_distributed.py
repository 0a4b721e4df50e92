"""2-process gloo training on CPU.

Same loss curve as 1 process with the same total batch; a dead rank makes the other exit with an error instead
of hanging.
"""
import glob
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time

import pytest

from beitmm.engine.runner import build_runner
from beitmm.testing.shrink import ROOT

from .helpers import cls_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _dist_config(imagenet_root: str, work: str, batch: int, epochs: int = 1):
    cfg = cls_config(imagenet_root, work, epochs=epochs)
    cfg.optim_wrapper = dict(cfg.optim_wrapper, type='OptimWrapper')
    cfg.optim_wrapper.pop('dtype'), cfg.optim_wrapper.pop('loss_scale')
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h['type'] != 'EMAHook']
    cfg.model.train_cfg = None  # mixup / cutmix draw from each rank's own generator
    cfg.model.backbone.drop_path_rate = 0.
    cfg.train_dataloader.batch_size = batch
    cfg.log_processor = dict(by_epoch=True, window_size=1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_cfg.pop('val_interval', None)
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    return cfg


def _losses(work: str) -> dict:
    path = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))[0]
    rows = [json.loads(line) for line in open(path)]
    return {r['step']: r['loss'] for r in rows if 'loss' in r}


def test_two_processes_match_one_process_loss_curve(imagenet_root, tmp_path):
    single = str(tmp_path / 'single')
    build_runner(_dist_config(imagenet_root, single, batch=4)).train()
    work = str(tmp_path / 'dist')
    path = str(tmp_path / 'cfg.py')
    _dist_config(imagenet_root, work, batch=2).dump(path)  # 2 processes x 2 = the same total batch
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()), OMP_NUM_THREADS='1')
    out = subprocess.run(['bash', osp.join(ROOT, 'tools/dist_train.sh'), path, '2', '--work-dir', work],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    one, two = _losses(single), _losses(work)
    assert sorted(one) == sorted(two) == list(range(1, 7))
    for step in one:  # logged loss = mean over both ranks (beitmm.NonFiniteLossHook averages the terms)
        assert two[step] == pytest.approx(one[step], rel=1e-3, abs=1e-4), (step, one, two)


def test_dead_rank_makes_the_other_fail_not_hang(imagenet_root, tmp_path):
    work = str(tmp_path / 'work')
    path = str(tmp_path / 'cfg.py')
    _dist_config(imagenet_root, work, batch=2, epochs=500).dump(path)
    port = str(_free_port())
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2', MASTER_ADDR='127.0.0.1',
                   MASTER_PORT=port, OMP_NUM_THREADS='1', BEITMM_DIST_TIMEOUT='15',
                   PYTHONPATH=os.pathsep.join([ROOT, os.environ.get('PYTHONPATH', '')]))
        procs.append(subprocess.Popen(
            [sys.executable, osp.join(ROOT, 'tools/train.py'), path, '--launcher', 'pytorch', '--work-dir', work],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    try:
        deadline = time.time() + 300
        while not glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')):  # both ranks are training
            assert procs[0].poll() is None and procs[1].poll() is None, procs[0].stderr.read()[-3000:]
            assert time.time() < deadline, 'training never started'
            time.sleep(0.5)
        os.kill(procs[1].pid, signal.SIGSTOP)  # a rank that stops answering, then dies
        start = time.time()
        code = procs[0].wait(timeout=180)
        waited = time.time() - start
        os.kill(procs[1].pid, signal.SIGKILL)
        err = procs[0].stderr.read()
        assert code != 0 and waited < 120, (code, waited)
        assert 'timed out' in err.lower() or 'timeout' in err.lower() or 'connection' in err.lower(), err[-3000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stderr.close()
