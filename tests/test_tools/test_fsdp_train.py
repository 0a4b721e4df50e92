"""Fully sharded training (FlexibleRunner + beitmm.FSDPStrategy) on 2 CPU ranks over gloo, against DDP.

Same data, same initialisation: FSDP must end with the weights DDP ends with, resume exactly, and write ordinary
checkpoints that a plain single-process run evaluates.
"""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from beitmm.engine.fsdp import fit_fsdp_to_device
from beitmm.testing.shrink import ROOT, config_path, tiny_cls_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _dist_train(cfg_path: str, work: str, *extra: str) -> str:
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()), OMP_NUM_THREADS='1')
    out = subprocess.run(['bash', osp.join(ROOT, 'tools/dist_train.sh'), cfg_path, '2', '--work-dir', work, *extra],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def _weights(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)


@pytest.fixture(scope='module')
def runs(imagenet_info, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('fsdp')
    paths = {}
    for name, config in (('fsdp', 'beit3/beit3-l_fsdp_in1k.py'), ('ddp', 'beit3/beit3-l_in1k.py')):
        cfg = tiny_cls_config(config_path(config), imagenet_info['root'], str(tmp / name),
                              num_classes=len(imagenet_info['classes']))
        cfg.train_cfg.max_epochs = 2
        paths[name] = str(tmp / f'{name}.py')
        cfg.dump(paths[name])
    logs = {name: _dist_train(paths[name], str(tmp / name)) for name in ('fsdp', 'ddp')}
    return dict(tmp=tmp, paths=paths, logs=logs)


def test_fsdp_trains_to_the_weights_of_ddp(runs):
    fsdp, ddp = (_weights(str(runs['tmp'] / n / 'epoch_2.pth')) for n in ('fsdp', 'ddp'))
    assert set(fsdp['state_dict']) == set(ddp['state_dict'])  # ordinary keys: no FSDP prefixes, nothing flat
    start = _weights(str(runs['tmp'] / 'fsdp' / 'epoch_1.pth'))['state_dict']
    moved = max((fsdp['state_dict'][k] - start[k]).abs().max().item() for k in start)
    assert moved > 1e-6  # epoch 2 trained
    for key, value in ddp['state_dict'].items():
        torch.testing.assert_close(fsdp['state_dict'][key], value, rtol=0, atol=1e-6, msg=key)
    # layer decay under FSDP: groups by the original shapes (shards are flat), so matrices still get weight decay
    groups = {g['group_name']: g['weight_decay'] for g in fsdp['optimizer']['param_groups']}
    assert groups == {g['group_name']: g['weight_decay'] for g in ddp['optimizer']['param_groups']}
    assert groups['layer_1_decay'] == 0.05
    # the gathered AdamW state is each state's own (torch aliases them when "offloading" CPU to CPU)
    state = fsdp['optimizer']['state']['head.fc.weight']
    assert not torch.equal(state['exp_avg'], state['exp_avg_sq'])


def test_every_block_is_its_own_fsdp_unit_and_the_device_is_cpu(runs):
    log = runs['logs']['fsdp']
    assert "strategy.model_wrapper.device_id: (local rank, a CUDA device) -> 'cpu'" in log
    cfg = Config.fromfile(runs['paths']['fsdp'])
    assert cfg.strategy.model_wrapper.auto_wrap_policy == dict(type='beitmm.wrap_transformer_blocks')
    from beitmm.engine.fsdp import wrap_transformer_blocks
    from beitmm.models.backbones import BEiT3
    model = BEiT3(arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64), img_size=32,
                  modalities=('vision', ))
    wrapped = [n for n, m in model.named_modules() if wrap_transformer_blocks(m, recurse=False, nonwrapped_numel=0)]
    assert wrapped == ['encoder.layers.0', 'encoder.layers.1']


def test_fsdp_resume_is_exact(runs):
    work = str(runs['tmp'] / 'resumed')
    _dist_train(runs['paths']['fsdp'], work, '--resume', str(runs['tmp'] / 'fsdp' / 'epoch_1.pth'))
    resumed = _weights(osp.join(work, 'epoch_2.pth'))['state_dict']
    straight = _weights(str(runs['tmp'] / 'fsdp' / 'epoch_2.pth'))['state_dict']
    for key, value in straight.items():
        assert torch.equal(resumed[key], value), key


def test_an_fsdp_checkpoint_is_evaluated_by_a_single_process_run(runs):
    metrics = str(runs['tmp'] / 'metrics.json')
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools/test.py'), runs['paths']['ddp'],
                          str(runs['tmp'] / 'fsdp' / 'epoch_2.pth'), '--out', metrics,
                          '--work-dir', str(runs['tmp'] / 'test')],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert 0 <= json.load(open(metrics))['accuracy/top1'] <= 100


def test_mmengine_strategy_name_becomes_beitmms():
    cfg = Config(dict(strategy=dict(type='FSDPStrategy', model_wrapper=dict(use_orig_params=True))))
    changes = fit_fsdp_to_device(cfg)
    assert cfg.strategy.type == 'beitmm.FSDPStrategy'
    assert any('cannot resume on torch 2' in c for c in changes)
    if not torch.cuda.is_available():
        assert cfg.strategy.model_wrapper.device_id == 'cpu'
    assert fit_fsdp_to_device(Config(dict(strategy=dict(type='DDPStrategy')))) == []
