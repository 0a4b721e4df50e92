"""Issue 29 recipes: every ImageNet-22k / 21k and ft22k / ft21k config trains and evaluates at tiny size.

Each config is shrunk by ``beitmm.testing.shrink`` (a 2-block, 32-dim BEiT on 32 px images, 2 training iterations);
the intermediate fine-tuning configs read the ImageNet-22k layout (wnid folders straight under the data root) and
have no evaluation, as unilm's runs.
"""
import os.path as osp

import pytest

from beitmm.engine.runner import build_runner
from beitmm.testing.shrink import config_path, tiny_cls_config, tiny_seg_config

CLS = ['beit/beit-b_ft22k_in1k.py', 'beit/beit-l_ft22k_in1k.py', 'beit/beit-b_ft22k-384_in1k.py',
       'beit/beit-l_ft22k-384_in1k.py', 'beit/beit-l_ft22k-512_in1k.py', 'beitv2/beitv2-b_ft21k_in1k.py',
       'beitv2/beitv2-l_ft21k_in1k.py', 'vlbeit/vlbeit-b_in1k.py', 'vlmo/vlmo-b_in1k.py']
INTERMEDIATE = ['beit/beit-b_in22k.py', 'beit/beit-l_in22k.py', 'beitv2/beitv2-b_in21k.py', 'beitv2/beitv2-l_in21k.py']
SEG = ['beitv2/upernet_beitv2-b_ft21k_ade20k.py', 'beitv2/upernet_beitv2-l_ft21k_ade20k.py',
       'vlbeit/upernet_vlbeit-b_ade20k.py', 'vlmo/upernet_vlmo-b_ade20k.py']  # VL backbones' vision path


def _cheap(cfg) -> None:
    """2 training images per batch x 2 iterations, 2 evaluation images, no checkpoint written."""
    cfg.train_dataloader.dataset.update(indices=4, serialize_data=False)
    if cfg.val_dataloader is not None:
        cfg.val_dataloader.dataset.update(indices=2, serialize_data=False)
    cfg.train_cfg.val_interval = 10  # evaluated once, below
    cfg.default_hooks.checkpoint.interval = 10


@pytest.mark.parametrize('rel', CLS + INTERMEDIATE)
def test_classification_recipe_runs(rel, imagenet_info, tmp_path):
    intermediate = rel in INTERMEDIATE
    root = osp.join(imagenet_info['root'], 'train') if intermediate else imagenet_info['root']  # <root>/<wnid>/*
    cfg = tiny_cls_config(config_path(rel), root, str(tmp_path), num_classes=len(imagenet_info['classes']))
    _cheap(cfg)
    if intermediate:
        assert cfg.val_dataloader is None and cfg.test_dataloader is None  # unilm: no evaluation
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == 2
    if not intermediate:
        metrics = runner.val_loop.run()
        assert 0 <= metrics['accuracy/top1'] <= 100


@pytest.mark.parametrize('rel', SEG)
def test_segmentation_recipe_runs(rel, ade20k_root, tmp_path):
    cfg = tiny_seg_config(config_path(rel), ade20k_root, str(tmp_path))
    cfg.train_dataloader.dataset.serialize_data = False
    cfg.train_cfg.val_interval = cfg.default_hooks.checkpoint.interval = 10
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == 2
