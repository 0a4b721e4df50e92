"""THE-X on the text side through the Runner: a VLMo-text-branch classifier, then its distillation config."""
import glob
import json
import os.path as osp

import torch
from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.models.the_x import THEXAffineNorm, THEXSoftmax
from beitmm.models.the_x.distill import load_student
from beitmm.testing.shrink import config_path
from beitmm.testing.vl import corpus, tiny_tokenizer


def _cfg(rel: str, root: str, work: str) -> Config:
    cfg = Config.fromfile(config_path(rel))
    teacher = cfg.model.teacher if cfg.model.type == 'beitmm.THEXDistiller' else cfg.model
    teacher.backbone.vocab_size = 160
    teacher.update(tokenizer=tiny_tokenizer('wordpiece'), max_len=16)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(batch_size=4)
        cfg[key].dataset.data_root = root
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work
    return cfg


def test_text_classifier_distils_to_the_x(tmp_path):
    lines = corpus(24, seed=5)
    for name, part in (('cls_train.jsonl', lines[:16]), ('cls_val.jsonl', lines[16:])):
        (tmp_path / name).write_text(''.join(json.dumps(dict(text=t, label=len(t.split()) % 4)) + '\n'
                                             for t in part))
    teacher = _cfg('the_x/vlmo-tiny_the-x_text-cls.py', str(tmp_path), str(tmp_path / 'teacher'))
    build_runner(teacher).train()
    teacher_ckpt = str(tmp_path / 'teacher' / 'iter_2.pth')
    cfg = _cfg('the_x/vlmo-tiny_the-x_text-cls_distill.py', str(tmp_path), str(tmp_path / 'distill'))
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
