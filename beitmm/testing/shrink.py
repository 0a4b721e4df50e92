"""Shrink the real configs to tiny shapes and tiny generated data for Runner smoke tests.

The configs are read from a ``configs/`` folder: the one named by ``BEITMM_CONFIGS``, else the ``configs/`` of the
checkout this package was imported from (an editable install or a source tree). An installed copy of the package
without either fails with a message saying so.
"""
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config

# The checkout this package was imported from (its configs/, tools/), when it was imported from one.
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def configs_root(configs: Optional[str] = None) -> str:
    """The ``configs/`` folder the shrunk configs are read from.

    Args:
        configs: The folder; default ``$BEITMM_CONFIGS``, else ``configs/`` of the checkout beitmm was imported from.

    Returns:
        Its path.

    Raises:
        FileNotFoundError: No such folder (beitmm installed without the repository, and no ``BEITMM_CONFIGS``).
    """
    configs = configs or os.environ.get('BEITMM_CONFIGS') or osp.join(ROOT, 'configs')
    if not osp.isdir(osp.join(configs, '_base_')):
        raise FileNotFoundError(
            f'beitmm.testing.shrink reads the repository\'s configs/, and {configs} is not one (no _base_/ in it): '
            'use a checkout of the repository (pip install -e .), or set BEITMM_CONFIGS to its configs/ folder')
    return configs


def config_path(rel: str, configs: Optional[str] = None) -> str:
    """Absolute path of a shipped config.

    Args:
        rel: Path relative to ``configs/`` (e.g. ``'beit/beit-b_in1k.py'``).
        configs: The ``configs/`` folder (default: :func:`configs_root`'s).

    Returns:
        ``<configs>/<rel>``.
    """
    return osp.join(configs_root(configs), rel)


def _loaders(cfg: Config, root: str, batch: int = 2) -> None:
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg[key]
        if dl is None:  # a training-only config (the ImageNet-22k intermediate fine-tuning)
            continue
        dl.update(batch_size=batch, num_workers=0, persistent_workers=False, pin_memory=False)
        dl.dataset.data_root = root


def _scale_pipeline(pipeline: list, size: int) -> None:
    for t in pipeline:
        kind = t['type'].split('.')[-1]
        if kind == 'RandomResizedCrop':
            t['scale'] = size
        elif kind == 'ResizeEdge':
            t['scale'] = size + size // 8
        elif kind == 'CenterCrop':
            t['crop_size'] = size
        elif kind in ('RandomResize', 'Resize'):
            t['scale'] = (size * 4, size)
        elif kind == 'RandomCrop':
            t['crop_size'] = (size, size)


def _scale_tta_pipeline(cfg: Config, size: int) -> None:
    """Scale the resizes of a multi-scale ``tta_pipeline`` by ``size / crop`` (the crop of the dataset base)."""
    crop = (cfg.get('crop_size') or (size, size))[0]
    for step in cfg.get('tta_pipeline') or []:
        for views in step.get('transforms', []) if step['type'].endswith('TestTimeAug') else []:
            for t in views:
                if t['type'].split('.')[-1] == 'Resize' and 'scale' in t:
                    t['scale'] = tuple(s * size // crop for s in t['scale'])


def tiny_cls_config(path: str, data_root: str, work_dir: str, num_classes: int, size: int = 32) -> Config:
    """A classification config with a 2-block, 32-dim BEiT on ``size`` px images, 1 epoch."""
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    cfg.model.backbone.update(arch=TINY, img_size=size, patch_size=16, init_cfg=None)
    cfg.model.head.update(num_classes=num_classes, in_channels=TINY['embed_dims'])
    cfg.data_preprocessor = dict(cfg.get('data_preprocessor', {}), num_classes=num_classes)
    _loaders(cfg, data_root)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg[key] is not None:
            _scale_pipeline(cfg[key].dataset.pipeline, size)
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    for key in ('val', 'test'):
        if cfg[f'{key}_dataloader'] is not None:
            cfg[f'{key}_evaluator'] = dict(type='Accuracy', topk=(1, min(5, num_classes - 1)))
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=1, eta_min=1e-6,
                                convert_to_iter_based=True)]
    cfg.default_hooks.logger.interval = 1
    cfg.auto_scale_lr = dict(enable=False)
    return cfg


def tiny_seg_config(path: str, data_root: str, work_dir: str, size: int = 32) -> Config:
    """A segmentation config with a 2-block, 32-dim BEiT on ``size`` px crops, 2 iterations.

    UperNet configs read blocks (0, 0, 1, 1) through the neck; neck-less ones (a linear head) read block 1.
    """
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    c = TINY['embed_dims']
    cfg.model.data_preprocessor.size = (size, size)
    linear = cfg.model.get('neck') is None
    cfg.model.backbone.update(arch=TINY, img_size=(size, size), patch_size=16,
                              out_indices=(1, ) if linear else (0, 0, 1, 1), init_cfg=None)
    if linear:
        cfg.model.decode_head.update(in_channels=c, channels=c)
    else:
        cfg.model.neck.embed_dim = c
        cfg.model.decode_head.update(in_channels=[c] * 4, channels=16)
    if cfg.model.get('auxiliary_head'):
        cfg.model.auxiliary_head.update(in_channels=c, channels=8)
    if cfg.model.test_cfg.mode == 'slide':
        cfg.model.test_cfg.update(crop_size=(size, size), stride=(size * 2 // 3, size * 2 // 3))
    _loaders(cfg, data_root)
    cfg.val_dataloader.batch_size = cfg.test_dataloader.batch_size = 1
    _scale_pipeline(cfg.train_dataloader.dataset.pipeline, size)
    _scale_pipeline(cfg.val_dataloader.dataset.pipeline, size)
    _scale_pipeline(cfg.test_dataloader.dataset.pipeline, size)
    _scale_tta_pipeline(cfg, size)
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=2)]
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.auto_scale_lr = dict(enable=False)
    return cfg


TINY_TOKENIZER = dict(type='beitmm.DALLETokenizer', with_decoder=False, n_hid=64, n_blk_per_group=1,
                      vocab_size=512, n_init=32)


def tiny_pretrain_config(path: str, data_root: str, work_dir: str, size: int = 64) -> Config:
    """A BEiT pretraining config with a 2-block student and a tiny random DALL-E tokenizer, 1 epoch."""
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    cfg.model.backbone.update(arch=TINY, img_size=size, patch_size=16)
    cfg.model.head.update(in_channels=TINY['embed_dims'], out_channels=TINY_TOKENIZER['vocab_size'])
    cfg.model.target_generator = dict(TINY_TOKENIZER)
    return shrink_mim_run(cfg, data_root, size)


def shrink_mim_run(cfg: Config, data_root: str, size: int = 64, second_size: Optional[int] = None) -> Config:
    """Shrink a masked-image-modeling run in place: ``size`` px crops, 6 masked patches, batch 2, 1 epoch.

    Args:
        cfg: A pretraining config (two-view crops and blockwise masks in its training pipeline).
        data_root: Folder of unlabeled images.
        size: Crop size of the first view; masks are drawn for its ``size // 16`` grid.
        second_size: Crop size of the tokenizer's view (default ``size // 2``: DALL-E downsamples 8x, one token
            per patch).

    Returns:
        ``cfg``.
    """
    for t in cfg.train_dataloader.dataset.pipeline:
        kind = t['type'].split('.')[-1]
        if kind == 'TwoViewRandomResizedCrop':
            t.update(size=size, second_size=size // 2 if second_size is None else second_size)
        elif kind == 'BlockwiseMaskGenerator':
            t.update(input_size=size // 16, num_masking_patches=6, min_num_patches=2)
    dl = cfg.train_dataloader
    dl.update(batch_size=2, num_workers=0, persistent_workers=False, pin_memory=False)
    dl.dataset.update(data_root=data_root, data_prefix=dict(img_path=''))
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=1, eta_min=1e-6,
                                convert_to_iter_based=True)]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.auto_scale_lr = dict(enable=False)
    return cfg
