"""Exact resume: a resumed run ends with the same model, optimizer, AMP scaler, schedulers and EMA
(torch.equal) as the uninterrupted run, for classification and pretraining, 0 and 2 dataloader workers."""
import importlib.util
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from .helpers import (assert_same_training_state, cls_config, final_checkpoint, load, pretrain_config)
from beitmm.testing.shrink import ROOT

from beitmm.engine.runner import build_runner

HERE = osp.dirname(osp.abspath(__file__))


def _train(cfg) -> dict:
    build_runner(cfg).train()
    return load(final_checkpoint(cfg.work_dir))


@pytest.fixture(scope='module')
def cls_reference(imagenet_root, tmp_path_factory):
    """Uninterrupted classification run: 2 epochs x 6 iterations, checkpoints at 3, 6, 9, 12."""
    work = str(tmp_path_factory.mktemp('cls_ref'))
    return work, _train(cls_config(imagenet_root, work, workers=0))


@pytest.fixture(scope='module')
def pretrain_reference(unlabeled_root, tmp_path_factory):
    """Uninterrupted pretraining run: 2 epochs x 5 iterations, a checkpoint every iteration."""
    work = str(tmp_path_factory.mktemp('pretrain_ref'))
    return work, _train(pretrain_config(unlabeled_root, work, workers=0))


def _resume(cfg, checkpoint: str) -> dict:
    cfg.resume, cfg.load_from = True, checkpoint
    return _train(cfg)


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


def test_sigkill_during_checkpoint_write_then_resume(cls_reference, imagenet_root, tmp_path, monkeypatch):
    """SIGKILL while iter_6.pth is half written: --resume continues from iter_3.pth and ends identical."""
    monkeypatch.syspath_prepend(HERE)  # the resumed config names slow_checkpoint_write in custom_imports
    work = str(tmp_path / 'work')
    cfg = cls_config(imagenet_root, work, workers=0)
    cfg.custom_imports = dict(imports=['beitmm', 'slow_checkpoint_write'], allow_failed_imports=False)
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, ROOT, os.environ.get('PYTHONPATH', '')]),
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
    assert osp.isfile(osp.join(work, '.iter_6.pth.killed.tmp')) and not osp.exists(osp.join(work, 'iter_6.pth'))
    assert final_checkpoint(work) == osp.join(work, 'iter_3.pth')  # the marker names a complete file only

    tool = _train_tool()
    args = tool.argparse.Namespace(config=path, cfg_options=None, launcher='none', work_dir=work, amp=False,
                                   auto_scale_lr=False, resume='auto')  # tools/train.py CONFIG --resume
    resumed_cfg = tool.build_cfg(args)
    resumed_cfg.custom_imports = dict(imports=['beitmm'], allow_failed_imports=False)
    assert_same_training_state(cls_reference[1], _train(resumed_cfg))
