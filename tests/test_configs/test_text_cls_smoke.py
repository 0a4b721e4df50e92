"""Text classification config: trains, validates (mmpretrain Accuracy) and tests through the Runner at tiny size."""
from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.testing.electra import shrink_text_cls_config, write_text_cls_data
from beitmm.testing.shrink import config_path


def test_text_cls_config_trains_and_scores_accuracy(tmp_path):
    write_text_cls_data(tmp_path)
    cfg = shrink_text_cls_config(Config.fromfile(config_path('demo/bert-tiny_demo_text-cls.py')), str(tmp_path),
                                 str(tmp_path / 'work'), bert=True)
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.test()
    assert 0. <= metrics['accuracy/top1'] <= 100.
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
