"""Tiny configs and state comparison for the reliability tests."""
import glob
import os.path as osp
from typing import Dict

import torch
from mmengine.config import Config
from beitmm.testing.shrink import config_path, tiny_cls_config, tiny_pretrain_config


def cls_config(imagenet_root: str, work_dir: str, workers: int = 0, epochs: int = 2) -> Config:
    """Tiny BEiT classifier: 24 images of 32 px, batch 4 (6 iterations an epoch), fp16 AMP, EMA.

    Checkpoints every 3 iterations: iter_3 is mid-epoch, iter_6 the end of epoch 1.
    """
    cfg = tiny_cls_config(config_path('beit/beit-b_in1k.py'), imagenet_root, work_dir, num_classes=4)
    cfg.train_cfg.update(max_epochs=epochs, val_interval=1)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=6),
                           dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs, eta_min=1e-6,
                                convert_to_iter_based=True)]
    cfg.optim_wrapper.update(type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic')
    cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='EMAHook', momentum=0.1)]
    _common(cfg, workers, batch=4, interval=3)
    return cfg


def pretrain_config(unlabeled_root: str, work_dir: str, workers: int = 0, epochs: int = 2) -> Config:
    """Tiny BEiT pretraining, random tiny DALL-E tokenizer, 20 images of 32 px, batch 4 (5 iterations an epoch).

    2x2 patch grid with 2 masked patches; checkpoints every iteration.
    """
    cfg = tiny_pretrain_config(config_path('beit/beit-b_pretrain_in1k.py'), unlabeled_root, work_dir, size=32)
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'].endswith('BlockwiseMaskGenerator'):
            # pool_size=1: a pool of masks drawn at once is per-worker state that no checkpoint holds (see report)
            t.update(num_masking_patches=2, min_num_patches=1, pool_size=1)
    cfg.train_cfg.max_epochs = epochs
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs, eta_min=1e-6,
                                convert_to_iter_based=True)]
    _common(cfg, workers, batch=4, interval=1)
    return cfg


def _common(cfg: Config, workers: int, batch: int, interval: int) -> None:
    cfg.train_dataloader.update(batch_size=batch, num_workers=workers, persistent_workers=workers > 0)
    cfg.default_hooks.checkpoint.update(interval=interval, by_epoch=False, max_keep_ckpts=-1)
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0)


def load(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)


def final_checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def _flatten(obj, prefix: str, out: Dict[str, object]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f'{prefix}.{k}', out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _flatten(v, f'{prefix}[{i}]', out)
    else:
        out[prefix] = obj


def training_state(ckpt: dict) -> Dict[str, object]:
    """Everything of a checkpoint that the rest of training depends on, flattened."""
    out: Dict[str, object] = {}
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'ema_state_dict'):
        if key in ckpt:
            _flatten(ckpt[key], key, out)
    out['meta.epoch'], out['meta.iter'] = ckpt['meta']['epoch'], ckpt['meta']['iter']
    return out


def assert_same_training_state(a: dict, b: dict) -> None:
    sa, sb = training_state(a), training_state(b)
    assert sa.keys() == sb.keys(), sorted(set(sa) ^ set(sb))[:10]
    for k in sa:
        if isinstance(sa[k], torch.Tensor):
            assert torch.equal(sa[k], sb[k]), f'{k} differs: max abs diff {(sa[k].float() - sb[k].float()).abs().max()}'
        else:
            assert sa[k] == sb[k], f'{k}: {sa[k]} != {sb[k]}'


def checkpoints(work_dir: str):
    return sorted(glob.glob(osp.join(work_dir, 'iter_*.pth')), key=lambda p: int(p.split('_')[-1][:-4]))
