# COCO 2017 instance segmentation in its released layout (annotations/instances_{train,val}2017.json,
# (configs that use it set default_scope = 'mmdet': the transforms are mmdet's and mmcv's)
# train2017/, val2017/), ViTDet's large-scale jitter at 1024 px (detectron2 projects/ViTDet
# common/coco_loader_lsj.py: flip, resize 0.1-2.0 of 1024, crop 1024, pad to 1024).
dataset_type = 'beitmm.CheckedCocoDataset'  # mmdet CocoDataset + checks of the annotation file (named errors)
data_root = 'data/coco/'
lsj_size = (1024, 1024)
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale=lsj_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_type='absolute_range', crop_size=lsj_size, recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),  # corrupt/truncated image: stop with the file name
    dict(type='Resize', scale=lsj_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=2,  # x 32 GPUs = 64, ViTDet's batch
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='beitmm.ResumableInfiniteSampler', shuffle=True),
    # no aspect-ratio batches: LSJ pads every image to the same canvas (and mmdet's AspectRatioBatchSampler keeps a
    # half-filled bucket across the resumable loop's iterator restart, so workers never return a batch)
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='mmdet.CocoMetric', ann_file=data_root + 'annotations/instances_val2017.json', metric=['bbox', 'segm'],
    format_only=False)
test_evaluator = val_evaluator
