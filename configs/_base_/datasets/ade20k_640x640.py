# ADE20K (SceneParsing, ADEChallengeData2016 layout), 640x640 crops as in unilm's BEiT configs.
dataset_type = 'beitmm.ADE20KDataset'  # mmseg ADE20KDataset + up-front layout checks
data_root = 'data/ade/ADEChallengeData2016'
crop_size = (640, 640)
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(2560, 640), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),  # corrupt/truncated image: stop with the file name
    dict(type='Resize', scale=(2560, 640), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='beitmm.ResumableInfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
# Multi-scale + flip test, `tools/test.py CONFIG CKPT --tta` (unilm beit/semantic_segmentation *_640_*_ms.py:
# MultiScaleFlipAug with img_scale (2560, 640), img_ratios 0.5-1.75 and flip, through
# SETR_Resize(setr_multi_scale=True), which sets the short side to max(crop size, ratio x 640): ratios 0.5 and 0.75
# give the 640 view again, so the 12 views are short sides 640 (x3), 800, 960, 1120, each as is and flipped).
# mmseg's SegTTAModel averages the views' softmax (each view's logits flipped back and resized to the image first)
# and takes the argmax.
tta_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_short_sides = [max(crop_size[0], int(640 * r)) for r in tta_ratios]
tta_model = dict(type='SegTTAModel')
tta_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(4 * s, s), keep_ratio=True) for s in tta_short_sides],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='LoadAnnotations', reduce_zero_label=True)],
        [dict(type='PackSegInputs')]]),
]
