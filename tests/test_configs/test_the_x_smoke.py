"""Runner smoke test of configs/the_x: teacher training, stage-1 and stage-2 distillation on tiny generated data."""
import glob
import os.path as osp

import torch
from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.models.algorithms import load_student
from beitmm.models.the_x import THEXAffineNorm
from beitmm.testing.shrink import config_path


def _cfg(rel: str, root: str, work: str) -> Config:
    cfg = Config.fromfile(config_path(rel))
    cfg.work_dir = work
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(batch_size=4, num_workers=0, persistent_workers=False)
        cfg[key].dataset.data_root = root
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.logger.interval = 1
    return cfg


def _ckpt(work: str) -> str:
    return sorted(glob.glob(osp.join(work, 'epoch_*.pth')), key=osp.getmtime)[-1]


def test_the_x_teacher_then_two_distillation_stages(imagenet_root, tmp_path):
    teacher_work = str(tmp_path / 'teacher')
    build_runner(_cfg('demo/beit-tiny_demo-the-x_cls.py', imagenet_root, teacher_work)).train()
    teacher_ckpt = _ckpt(teacher_work)
    teacher_state = torch.load(teacher_ckpt, map_location='cpu', weights_only=False)['state_dict']

    s1 = _cfg('demo/the-x_beit-tiny_demo-stage1_cls.py', imagenet_root, str(tmp_path / 's1'))
    s1.model.teacher_checkpoint = teacher_ckpt
    runner = build_runner(s1)
    runner.train()
    metrics = runner.val_loop.run()
    assert 0 <= metrics['accuracy/top1'] <= 100
    state1 = torch.load(_ckpt(s1.work_dir), map_location='cpu', weights_only=False)['state_dict']
    for key, value in teacher_state.items():  # the teacher rides along unchanged
        assert torch.equal(state1[f'teacher.{key}'], value), key
    changed = {k[len('student.'):] for k, v in state1.items() if k.startswith('student.') and
               k[len('student.'):] in teacher_state and not torch.equal(v, teacher_state[k[len('student.'):]])}
    assert changed and all(('norm' in k) for k in changed), changed  # stage 1: only the replacements moved
    assert not any(torch.equal(state1[f'student.{k}'], teacher_state[k]) for k in teacher_state
                   if k.endswith('norm1.weight'))  # affine maps [d, d] now, not gamma [d]

    s2 = _cfg('demo/the-x_beit-tiny_demo-stage2_cls.py', imagenet_root, str(tmp_path / 's2'))
    s2.model.teacher_checkpoint = teacher_ckpt
    s2.load_from = _ckpt(s1.work_dir)
    build_runner(s2).train()
    state2 = torch.load(_ckpt(s2.work_dir), map_location='cpu', weights_only=False)['state_dict']
    assert not torch.equal(state2['student.head.fc.weight'], state1['student.head.fc.weight'])  # stage 2: all train
    student = load_student(s2.model, _ckpt(s2.work_dir))
    assert isinstance(student.backbone.blocks[0].norm1, THEXAffineNorm)
    assert torch.equal(student.state_dict()['head.fc.weight'], state2['student.head.fc.weight'])
