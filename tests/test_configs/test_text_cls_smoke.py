"""Text classification config: trains, validates (mmpretrain Accuracy) and tests through the Runner at tiny size."""
import json

from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.testing.shrink import config_path
from beitmm.testing.vl import corpus, tiny_tokenizer


def shrink_text_cls_config(cfg, data_root: str, work_dir: str):
    """Tiny BERT, the tiny WordPiece vocabulary, 2 iterations."""
    cfg.model.backbone.update(arch='tiny', vocab_size=160, max_position_embeddings=40)
    cfg.model.update(tokenizer=tiny_tokenizer('wordpiece'), max_len=16)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(batch_size=4)
        cfg[key].dataset.data_root = data_root
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    return cfg


def test_text_cls_config_trains_and_scores_accuracy(tmp_path):
    lines = corpus(24, seed=5)
    for name, part in (('cls_train.jsonl', lines[:16]), ('cls_val.jsonl', lines[16:])):
        (tmp_path / name).write_text(''.join(json.dumps(dict(text=t, label=len(t.split()) % 4)) + '\n'
                                             for t in part))
    cfg = shrink_text_cls_config(Config.fromfile(config_path('demo/bert-tiny_demo_text-cls.py')), str(tmp_path),
                                 str(tmp_path / 'work'))
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.test()
    assert 0. <= metrics['accuracy/top1'] <= 100.
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
