"""Exact resume of THE-X distillation (configs/the_x stage 1), across the first-batch calibration.

The teacher trains 1 epoch of its config (24 images of 32 px, batch 4); stage-1 distillation then runs 1 epoch x 6
iterations uninterrupted, and again resumed from its iteration-3 checkpoint (mid-epoch, after the calibration of
iteration 1: the saved ``calibrated`` flag must stop a second calibration). Model, optimizer, scheduler and meta
state must be bit-identical.
"""
import os.path as osp

import torch
from mmengine.config import Config

from beitmm.testing.shrink import config_path

from .helpers import _common, assert_same_training_state, final_checkpoint, train_and_load


def _cfg(rel: str, root: str, work: str, epochs: int) -> Config:
    cfg = Config.fromfile(config_path(rel))
    cfg.work_dir = work
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(num_workers=0, persistent_workers=False)
        cfg[key].dataset.data_root = root
    cfg.train_cfg.update(max_epochs=epochs, val_interval=epochs)
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs, eta_min=1e-5,
                                convert_to_iter_based=True)]
    _common(cfg, 0, batch=4, interval=3)
    return cfg



def test_distillation_resume_is_exact(imagenet_root, tmp_path):
    teacher = _cfg('demo/beit-tiny_demo-the-x_cls.py', imagenet_root, str(tmp_path / 'teacher'), 1)
    train_and_load(teacher)
    teacher_ckpt = final_checkpoint(teacher.work_dir)

    def stage1(work: str) -> Config:
        cfg = _cfg('demo/the-x_beit-tiny_demo-stage1_cls.py', imagenet_root, work, 1)
        cfg.model.teacher_checkpoint = teacher_ckpt
        return cfg

    reference = train_and_load(stage1(str(tmp_path / 'reference')))
    assert reference['meta']['iter'] == 6 and bool(reference['state_dict']['calibrated'])
    resumed_cfg = stage1(str(tmp_path / 'resumed'))
    resumed_cfg.resume, resumed_cfg.load_from = True, osp.join(str(tmp_path / 'reference'), 'iter_3.pth')
    resumed = train_and_load(resumed_cfg)
    assert resumed['meta']['iter'] == 6
    assert_same_training_state(reference, resumed)
    assert not torch.equal(reference['state_dict']['student.backbone.blocks.0.attn.softmax.scale'], torch.tensor(1.))
