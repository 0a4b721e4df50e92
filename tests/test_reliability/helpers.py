"""Tiny configs and state comparison for the reliability tests."""
import glob
import os.path as osp
from typing import Callable, Dict, List, Optional

import torch
from mmengine.config import Config

from beitmm.testing.beitv2 import shrink_v2_pretrain_config, shrink_vqkd_config
from beitmm.testing.shrink import TINY, config_path, tiny_cls_config, tiny_pretrain_config


def cls_config(imagenet_root: str, work_dir: str, workers: int = 0, epochs: int = 2) -> Config:
    """Tiny BEiT classifier: 24 images of 32 px, batch 4 (6 iterations an epoch), fp16 AMP, EMA.

    Checkpoints every 3 iterations: iter_3 is mid-epoch, iter_6 the end of epoch 1.
    """
    cfg = tiny_cls_config(config_path('beit/beit-b_in1k.py'), imagenet_root, work_dir, num_classes=4)
    cfg.train_cfg.update(max_epochs=epochs, val_interval=1)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=6),
                           dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs, eta_min=1e-6,
                                convert_to_iter_based=True)]
    cfg.optim_wrapper.update(type='beitmm.AmpOptimWrapper', dtype='float16', loss_scale='dynamic')
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


def _tiny_masks(cfg: Config, grid: int = 2) -> None:
    """2 of the ``grid x grid`` patches masked, one mask per sample (no mask pool)."""
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'].endswith('BlockwiseMaskGenerator'):
            t.update(input_size=grid, num_masking_patches=2, min_num_patches=1, pool_size=1)


def _tiny_mim_data(cfg: Config, data_root: str, work_dir: str, size: int, second_size: int, epochs: int,
                   num_images: int) -> None:
    """Point a MIM config at ``num_images`` tiny unlabeled images, ``size`` px views, ``epochs`` epochs."""
    cfg.work_dir = work_dir
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'].endswith('TwoViewRandomResizedCrop'):
            t.update(size=size, second_size=second_size)
    _tiny_masks(cfg, size // 16)
    cfg.train_dataloader.update(pin_memory=False)
    cfg.train_dataloader.dataset.update(data_root=data_root, data_prefix=dict(img_path=''), indices=num_images)
    cfg.train_cfg.max_epochs = epochs
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs, eta_min=1e-6,
                                convert_to_iter_based=True)]
    cfg.auto_scale_lr = dict(enable=False)


def vqkd_config(unlabeled_root: str, work_dir: str, workers: int = 0, epochs: int = 2) -> Config:
    """Tiny VQ-KD training (``beitv2/vqkd_clip-b16_vit-b_in1k.py``).

    2-block encoder, 1-block decoder, random tiny CLIP teacher, 16 codes with k-means init, 8 images of 32 px,
    batch 2 (4 iterations an epoch); checkpoints every iteration.

    EMA decay 0.8 and dead-code threshold 0.5 (config: 0.99 / 0.03) make the quantizer restart dead codes
    (random rows drawn from torch's generator) in iterations 1, 3 and 5-8 (measured), i.e. after every resume point.
    """
    cfg = shrink_vqkd_config(config_path('beitv2/vqkd_clip-b16_vit-b_in1k.py'), unlabeled_root, work_dir, size=32,
                             epochs=epochs, num_images=8)
    cfg.model.update(decay=0.8, dead_code_threshold=0.5)
    _common(cfg, workers, batch=2, interval=1)
    return cfg


def vqkd_tokenizer_checkpoint(unlabeled_root: str, path: str) -> dict:
    """Save a tiny VQ-KD tokenizer (random weights, k-means codebook of one batch) for BEiT v2 pretraining.

    Args:
        unlabeled_root: Images (only the config is used; the codebook is fitted on random inputs).
        path: Where to write ``{'state_dict': ...}``.

    Returns:
        The VQ-KD model config the checkpoint belongs to.
    """
    from beitmm.engine.rng import fork_rng
    from beitmm.registry import MODELS
    model_cfg = vqkd_config(unlabeled_root, osp.dirname(path)).model.to_dict()
    model_cfg.pop('data_preprocessor', None)
    with fork_rng():  # the caller's random streams stay where they were
        torch.manual_seed(0)
        model = MODELS.build(model_cfg)
        model.init_weights()
        model.train()(torch.rand(8, 3, 32, 32) * 2 - 1, mode='loss')  # k-means initialisation of the codebook
    torch.save({'state_dict': model.state_dict()}, path)
    return model_cfg


def beitv2_config(unlabeled_root: str, work_dir: str, vqkd_cfg: dict, vqkd_ckpt: str, workers: int = 0,
                  epochs: int = 2) -> Config:
    """Tiny BEiT v2 pretraining (``beitv2/beitv2-b_pretrain_in1k.py``).

    2-block student, CLS branch after block 1, the tiny VQ-KD's tokens, 8 images of 32 px, batch 2
    (4 iterations an epoch); checkpoints every iteration.
    """
    cfg = shrink_v2_pretrain_config(config_path('beitv2/beitv2-b_pretrain_in1k.py'), unlabeled_root, work_dir,
                                    vqkd_cfg, vqkd_ckpt, size=32, num_images=8)
    _tiny_mim_data(cfg, unlabeled_root, work_dir, 32, 32, epochs, 8)
    _common(cfg, workers, batch=2, interval=1)
    return cfg


def maskdistill_config(unlabeled_root: str, work_dir: str, workers: int = 0, epochs: int = 2) -> Config:
    """Tiny MaskDistill (``maskdistill/maskdistill_clip-b16_vit-b_300e_in1k.py``).

    2-block student, random 1-block 24-d CLIP teacher, 8 images of 32 px, batch 2 (4 iterations an epoch);
    checkpoints every iteration.
    """
    cfg = Config.fromfile(config_path('maskdistill/maskdistill_clip-b16_vit-b_300e_in1k.py'))
    cfg.model.backbone.update(arch=TINY, img_size=32, patch_size=16)
    cfg.model.head.update(in_channels=TINY['embed_dims'], out_channels=24)
    cfg.model.target_generator.teacher.update(arch=dict(embed_dims=32, num_layers=1, num_heads=2, output_dims=24),
                                              img_size=32, checkpoint=None)
    _tiny_mim_data(cfg, unlabeled_root, work_dir, 32, 32, epochs, 8)
    _common(cfg, workers, batch=2, interval=1)
    return cfg


CIM_TOKENIZER = dict(type='beitmm.DALLETokenizer', encoder_checkpoint=None, decoder_checkpoint=None,
                     with_decoder=True, n_hid=16, n_blk_per_group=1, vocab_size=64, n_init=16)


def cim_config(unlabeled_root: str, work_dir: str, workers: int = 0, epochs: int = 2,
               rel: str = 'cim/cim-respix_vit-b_300e_in1k.py') -> Config:
    """Tiny CIM ResPix (``cim/cim-respix_vit-b_300e_in1k.py``, or another CIM config ``rel``).

    2-block generator and ViT enhancer, random tiny DALL-E dVAE (64 tokens) with decoder, tokens sampled at
    temperature 1, 8 images of 32 px, batch 2 (4 iterations an epoch); checkpoints every iteration.
    """
    cfg = Config.fromfile(config_path(rel))
    m = cfg.model
    m.generator.update(arch=TINY, img_size=32)
    m.generator_head.update(in_channels=TINY['embed_dims'], out_channels=CIM_TOKENIZER['vocab_size'])
    m.tokenizer = dict(CIM_TOKENIZER)
    m.backbone.update(arch=TINY, img_size=32)
    m.head.in_channels = TINY['embed_dims']
    _tiny_mim_data(cfg, unlabeled_root, work_dir, 32, 16, epochs, 8)  # dVAE view: 8 px per token
    _common(cfg, workers, batch=2, interval=1)
    return cfg


def _common(cfg: Config, workers: int, batch: int, interval: int) -> None:
    cfg.train_dataloader.update(batch_size=batch, num_workers=workers, persistent_workers=workers > 0)
    cfg.default_hooks.checkpoint.update(interval=interval, by_epoch=False, max_keep_ckpts=-1)
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0)


def shutdown_workers(runner) -> None:
    """Stop the persistent dataloader workers of a finished run now, not whenever the runner is collected.

    Workers left alive by earlier runs of the same test process slowed later runs with workers by ~10 s each.

    Args:
        runner: A mmengine Runner after ``train()``.
    """
    iterator = getattr(runner.train_loop.dataloader, '_iterator', None)
    if iterator is not None and hasattr(iterator, '_shutdown_workers'):
        iterator._shutdown_workers()


def load(path: str) -> dict:
    """A checkpoint under ``weights_only=True`` with beitmm's allow-list (mmengine's HistoryBuffer, numpy types)."""
    from beitmm.checkpoint import register_safe_globals
    register_safe_globals()
    return torch.load(path, map_location='cpu', weights_only=True)


def final_checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def train_and_load(cfg: Config, check: Optional[Callable] = None) -> dict:
    """Train ``cfg`` through beitmm's Runner, stop its workers and load the last checkpoint.

    Args:
        cfg: The run's config (its ``work_dir`` receives the checkpoints).
        check: Optional callable given the finished runner (e.g. to read its message hub).

    Returns:
        The last checkpoint of the run, loaded on the CPU.
    """
    from beitmm.engine.runner import build_runner
    runner = build_runner(cfg)
    runner.train()
    shutdown_workers(runner)
    if check is not None:
        check(runner)
    return load(final_checkpoint(cfg.work_dir))


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


def training_state_differences(a: dict, b: dict) -> List[str]:
    """Entries of the training state of two checkpoints that are not identical (torch.equal / ==).

    Args:
        a: A loaded checkpoint.
        b: Another one.

    Returns:
        One message per differing entry (max abs difference for tensors); empty when bit-identical.
    """
    sa, sb = training_state(a), training_state(b)
    if sa.keys() != sb.keys():
        return [f'keys differ: {sorted(set(sa) ^ set(sb))[:10]}']
    out = []
    for k in sa:
        if isinstance(sa[k], torch.Tensor):
            if not torch.equal(sa[k], sb[k]):
                out.append(f'{k} differs: max abs diff {(sa[k].double() - sb[k].double()).abs().max().item():.3g}')
        elif sa[k] != sb[k]:
            out.append(f'{k}: {sa[k]} != {sb[k]}')
    return out


def assert_same_training_state(a: dict, b: dict) -> None:
    differences = training_state_differences(a, b)
    assert not differences, f'{len(differences)} entries differ: ' + '; '.join(differences[:5])


def checkpoints(work_dir: str):
    return sorted(glob.glob(osp.join(work_dir, 'iter_*.pth')), key=lambda p: int(p.split('_')[-1][:-4]))
