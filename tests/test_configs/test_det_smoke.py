"""Runner smoke tests of every COCO detection config (configs/det) at tiny shapes on generated COCO-layout data.

Each config trains 2 iterations (Mask R-CNN / Cascade Mask R-CNN on CPU: RoIAlign forward and backward from mmcv's
CPU kernels) and validates through mmdet's CocoMetric (bbox and segm); the BEiT-B config is also tested with
``tools/test.py``, a resume that continues bit-exactly, and the layer-wise lr groups.
"""
import glob
import math
import os.path as osp
import subprocess
import sys

import pytest
import torch

from beitmm.engine.runner import build_runner
from beitmm.testing.shrink import ROOT, config_path
from beitmm.testing.shrink_det import tiny_det_config
from beitmm.testing.synthetic_coco import make_coco_data

CONFIGS = sorted(osp.relpath(p, osp.join(ROOT, 'configs')) for p in glob.glob(osp.join(ROOT, 'configs/det/*.py')))
LOSSES = ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask')


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    return make_coco_data(str(tmp_path_factory.mktemp('coco')), num_train=4, num_val=2, img_size=64)


def _train(rel, coco, work, iters=2):
    cfg = tiny_det_config(config_path(rel), coco['root'], work, coco['classes'], iters=iters)
    runner = build_runner(cfg)
    runner.train()
    return runner, cfg


def test_every_det_config_is_smoke_tested():
    assert len(CONFIGS) >= 7 and 'det/mask-rcnn_beit-b_simplefpn_lsj-100e_coco.py' in CONFIGS


@pytest.mark.parametrize('rel', CONFIGS)
def test_det_config_trains_and_evaluates(rel, coco, tmp_path):
    runner, _ = _train(rel, coco, str(tmp_path))
    scalars = runner.message_hub.log_scalars
    for name in LOSSES:
        key = next(k for k in scalars if k.endswith(name))  # cascade: s0.loss_cls, ...
        assert math.isfinite(scalars[key].current()), key
    metrics = runner.val_loop.run()
    assert {'coco/bbox_mAP', 'coco/segm_mAP'} <= set(metrics)
    assert all(-1 <= v <= 1 for v in metrics.values())


def test_test_tool_prints_coco_ap(coco, tmp_path):
    rel = 'det/mask-rcnn_beit-b_simplefpn_lsj-100e_coco.py'
    runner, cfg = _train(rel, coco, str(tmp_path / 'train'))
    ckpt = osp.join(str(tmp_path / 'train'), 'iter_2.pth')
    cfg.dump(str(tmp_path / 'tiny.py'))
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools/test.py'), str(tmp_path / 'tiny.py'), ckpt,
                          '--work-dir', str(tmp_path / 'test')], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    assert 'coco/bbox_mAP' in text and 'coco/segm_mAP' in text and 'Average Precision' in text


def test_resume_continues_exactly(coco, tmp_path):
    rel = 'det/mask-rcnn_beit-b_simplefpn_lsj-100e_coco.py'
    full, _ = _train(rel, coco, str(tmp_path / 'full'), iters=4)
    cfg = tiny_det_config(config_path(rel), coco['root'], str(tmp_path / 'cut'), coco['classes'], iters=4)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.train_cfg.max_iters = 2
    build_runner(cfg).train()
    cfg.train_cfg.max_iters = 4
    cfg.resume, cfg.load_from = True, osp.join(str(tmp_path / 'cut'), 'iter_2.pth')
    resumed = build_runner(cfg)
    resumed.train()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_layer_decay_groups_follow_vitdet(coco, tmp_path):
    cfg = tiny_det_config(config_path('det/mask-rcnn_beit-b_simplefpn_lsj-100e_coco.py'), coco['root'],
                          str(tmp_path), coco['classes'])
    runner = build_runner(cfg)
    groups = runner.build_optim_wrapper(runner.optim_wrapper).optimizer.param_groups
    lr = {id(p): g['lr'] for g in groups for p in g['params']}
    model, base = runner.model, 1e-4
    # 2 blocks: patch embedding 0.7^3, block i 0.7^(2 - i), neck / heads 1 (ViTDet's get_vit_lr_decay_rate)
    assert lr[id(model.backbone.patch_embed.proj.weight)] == pytest.approx(base * 0.7 ** 3)
    assert lr[id(model.backbone.blocks[0].attn.qkv.weight)] == pytest.approx(base * 0.7 ** 2)
    assert lr[id(model.backbone.blocks[1].mlp.fc1.weight)] == pytest.approx(base * 0.7)
    assert lr[id(model.neck.lateral_convs[0].conv.weight)] == pytest.approx(base)
    assert lr[id(model.roi_head.bbox_head.fc_cls.weight)] == pytest.approx(base)
    assert id(model.backbone.cls_token) not in lr  # frozen: patch tokens only
