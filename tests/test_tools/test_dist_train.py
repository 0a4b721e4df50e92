"""tools/dist_train.sh and tools/dist_test.sh: 2 processes on CPU through torchrun + gloo."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

from beitmm.testing.shrink import ROOT, config_path, tiny_cls_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.parametrize('config', ['beit/beit-b_in1k.py', 'beit3/beit3-b_in1k.py'])
def test_two_process_gloo_train_and_test(config, imagenet_info, tmp_path):
    work = str(tmp_path / 'work')
    cfg = tiny_cls_config(config_path(config), imagenet_info['root'], work,
                          num_classes=len(imagenet_info['classes']))
    cfg.train_cfg.max_epochs = 2
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()), OMP_NUM_THREADS='1')
    out = subprocess.run(['bash', osp.join(ROOT, 'tools/dist_train.sh'), path, '2', '--work-dir', work],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    logs = glob.glob(osp.join(work, '*', '*.log'))
    text = open(logs[0]).read()
    assert 'Distributed training: True' in text and "dist_cfg: {'backend': 'gloo'}" in text
    n_train = imagenet_info['num_train']
    iters = n_train // (2 * 2)  # 2 processes x batch 2: each process sees half of the data
    assert f'Epoch(train) [2][{iters}/{iters}]' in text, text[-2000:]
    ckpt = osp.join(work, 'epoch_2.pth')
    assert osp.isfile(ckpt)
    metrics = str(tmp_path / 'metrics.json')
    env['PORT'] = str(_free_port())
    out = subprocess.run(['bash', osp.join(ROOT, 'tools/dist_test.sh'), path, ckpt, '2', '--out', metrics],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert 0 <= json.load(open(metrics))['accuracy/top1'] <= 100


@pytest.mark.parametrize('config', ['beit3/beit3-b_coco-retrieval.py', 'beit3/beit3-b_vqav2.py'])
def test_vl_evaluation_is_the_same_in_one_and_two_processes(config, tmp_path):
    """Retrieval gathers features from every rank, VQA scores gathered predictions: 2 gloo ranks = 1 process."""
    from mmengine.config import Config

    from beitmm.testing.synthetic_vl import make_vl_data
    from beitmm.testing.vl import shrink_vl_config
    data = make_vl_data(str(tmp_path / 'vl'), num_train_images=4, num_val_images=10, img_size=32, min_answer_count=1)
    cfg = Config.fromfile(config_path(config))
    cfg.model.backbone.arch = 'tiny'
    shrink_vl_config(cfg, data['coco_root'], str(tmp_path / 'work'), eval_items=7)  # 7: uneven over 2 ranks
    if 'vqav2' in config:
        cfg.model.num_labels = len(data['answers'])
        cfg.test_dataloader = cfg.val_dataloader
        cfg.test_evaluator = cfg.val_evaluator
    else:
        cfg.test_dataloader.dataset.split = 'val'
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    ckpt = str(tmp_path / 'init.pth')
    import torch

    from beitmm.apis import init_model
    torch.save({'state_dict': init_model(path).state_dict(), 'meta': {}}, ckpt)
    results = []
    for procs in (1, 2):
        metrics = str(tmp_path / f'metrics{procs}.json')
        env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()), OMP_NUM_THREADS='1')
        cmd = (['bash', osp.join(ROOT, 'tools/dist_test.sh'), path, ckpt, '2'] if procs == 2 else
               [sys.executable, osp.join(ROOT, 'tools/test.py'), path, ckpt])
        out = subprocess.run(cmd + ['--out', metrics], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        results.append(json.load(open(metrics)))
    keys = [k for k in results[0] if k.startswith(('t2i/', 'i2t/', 'vqa/'))]
    assert keys and all(results[0][k] == pytest.approx(results[1][k], abs=1e-6) for k in keys), results


def test_two_process_gloo_detection(tmp_path):
    """configs/det Mask R-CNN under tools/dist_train.sh: 2 gloo processes train and validate with CocoMetric."""
    from beitmm.testing.shrink_det import tiny_det_config
    from beitmm.testing.synthetic_coco import make_coco_data
    coco = make_coco_data(str(tmp_path / 'coco'), num_train=4, num_val=2, img_size=64)
    work = str(tmp_path / 'work')
    cfg = tiny_det_config(config_path('det/mask-rcnn_beit-b_simplefpn_lsj-100e_coco.py'), coco['root'], work,
                          coco['classes'])
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()), OMP_NUM_THREADS='1')
    out = subprocess.run(['bash', osp.join(ROOT, 'tools/dist_train.sh'), path, '2', '--work-dir', work],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    assert 'Distributed training: True' in text and "dist_cfg: {'backend': 'gloo'}" in text
    assert 'Iter(train) [2/2]' in text and 'coco/bbox_mAP' in text and 'coco/segm_mAP' in text
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
