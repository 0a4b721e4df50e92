"""Shrink the COCO detection configs (``configs/det``) to tiny shapes on generated COCO-layout data."""
import os.path as osp
from typing import Sequence

from mmengine.config import Config

from .shrink import TINY


def _det_pipeline(pipeline: list, size: int) -> None:
    for t in pipeline:
        kind = t['type'].split('.')[-1]
        if kind in ('RandomResize', 'Resize'):
            t['scale'] = (size, size)
        elif kind == 'RandomCrop':
            t['crop_size'] = (size, size)


def tiny_det_config(path: str, data_root: str, work_dir: str, classes: Sequence[str], size: int = 64,
                    iters: int = 2) -> Config:
    """A detection config with a 2-block, 32-dim windowed BEiT / BEiT-3 (block 0 in 2 x 2 windows), ``size`` px LSJ.

    Args:
        path: A config of ``configs/det``.
        data_root: Root of a COCO-layout dataset (``beitmm.testing.synthetic_coco.make_coco_data``).
        work_dir: Work directory.
        classes: The dataset's class names.
        size: LSJ canvas side (pixels).
        iters: Training iterations (validation after the last).

    Returns:
        The config.
    """
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    c = TINY['embed_dims']
    cfg.model.backbone.update(arch=dict(TINY), img_size=size, window_size=2, window_block_indexes=[0], init_cfg=None)
    cfg.model.data_preprocessor.batch_augments = [dict(type='mmdet.BatchFixedSizePad', size=(size, size),
                                                       pad_mask=True)]
    cfg.model.neck.update(in_channels=c, out_channels=16)
    rpn = cfg.model.rpn_head
    rpn.update(in_channels=16, feat_channels=16)
    rpn.anchor_generator.scales = [2]  # anchors of 8 .. 128 px on a 64 px canvas
    roi = cfg.model.roi_head
    bbox_heads = roi.bbox_head if isinstance(roi.bbox_head, list) else [roi.bbox_head]
    for head in bbox_heads:
        head.update(in_channels=16, conv_out_channels=16, fc_out_channels=32, num_classes=len(classes))
    for extractor in (roi.bbox_roi_extractor, roi.mask_roi_extractor):
        extractor.out_channels = 16
    roi.mask_head.update(in_channels=16, conv_out_channels=16, num_classes=len(classes))
    metainfo = dict(classes=tuple(classes))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg[key]
        dl.update(batch_size=2, num_workers=0, persistent_workers=False)
        dl.dataset.update(data_root=data_root, metainfo=metainfo)
        _det_pipeline(dl.dataset.pipeline, size)
    cfg.train_dataloader.dataset.filter_cfg = dict(filter_empty_gt=True, min_size=4)
    ann = osp.join(data_root, 'annotations', 'instances_val2017.json')
    cfg.val_evaluator = dict(cfg.val_evaluator, ann_file=ann)
    cfg.test_evaluator = dict(cfg.test_evaluator, ann_file=ann)
    cfg.train_cfg.update(max_iters=iters, val_interval=iters)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=iters)]
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = 1
    cfg.auto_scale_lr = dict(enable=False)
    return cfg
