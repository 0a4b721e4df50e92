# COCO captioning on the Karpathy split (dataset_coco.json: train + restval for training, 5k val / 5k test), 480 px,
# BEiT-3 recipe: RandomResizedCrop (0.5, 1) + flip + BLIP's RandomAugment(2, 7) for training (--randaug,
# get_started_for_captioning.md:76). References come from the same local file (no run-time download of BLIP's
# coco_karpathy_*_gt.json, which unilm scores against: utils.py:888-896).
_base_ = ['./vl_common.py']
dataset_type = 'beitmm.KarpathyCaption'
data_root = 'data/coco'
ann_file = 'dataset_coco.json'
img_size = 480
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.5, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    {{_base_.train_pipeline_randaug}},
    dict(type='PackInputs', algorithm_keys=['gt_caption'], meta_keys=['image_id']),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size), backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs', algorithm_keys=['gt_caption'], meta_keys=['image_id']),
]
train_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True, pin_memory=True, drop_last=True,
    collate_fn=dict(type='default_collate'),
    sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True, pin_memory=True, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file, split='val', pipeline=test_pipeline))
val_evaluator = dict(type='beitmm.CaptionMetric')
test_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True, pin_memory=True, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file, split='test', pipeline=test_pipeline))
test_evaluator = val_evaluator
val_cfg = dict()
test_cfg = dict()
