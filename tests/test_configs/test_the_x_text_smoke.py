"""THE-X on the text side through the Runner: a VLMo-text-branch classifier, then its distillation config."""
import glob
import os.path as osp

import torch
from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.models.algorithms import load_student
from beitmm.models.the_x import THEXAffineNorm, THEXSoftmax
from beitmm.testing.electra import shrink_text_cls_config, write_text_cls_data
from beitmm.testing.shrink import config_path


def _cfg(rel: str, root: str, work: str) -> Config:
    return shrink_text_cls_config(Config.fromfile(config_path(rel)), root, work)


def test_text_classifier_distils_to_the_x(tmp_path):
    write_text_cls_data(tmp_path)
    teacher = _cfg('demo/vlmo-tiny_demo-the-x_text-cls.py', str(tmp_path), str(tmp_path / 'teacher'))
    build_runner(teacher).train()
    teacher_ckpt = str(tmp_path / 'teacher' / 'iter_2.pth')
    cfg = _cfg('demo/the-x_vlmo-tiny_demo_text-cls.py', str(tmp_path), str(tmp_path / 'distill'))
    cfg.model.teacher_checkpoint = teacher_ckpt
    runner = build_runner(cfg)
    runner.train()
    assert 0 <= runner.test()['accuracy/top1'] <= 100
    ckpt = sorted(glob.glob(osp.join(cfg.work_dir, 'iter_*.pth')))[-1]
    student = load_student(cfg.model, ckpt)
    blocks = student.backbone.transformer.blocks
    assert all(isinstance(b.attn.softmax, THEXSoftmax) and isinstance(b.norm1, THEXAffineNorm) for b in blocks)
    assert float(blocks[0].attn.softmax.scale) != 1.  # calibrated on the first batch
    with torch.no_grad():
        assert torch.isfinite(student.logits(['a red circle', 'two blue squares left of a green triangle'])).all()
