# ADE20K with 512x512 crops (BEiT self-supervised and BEiT v2 configs): the 640 settings at 512.
_base_ = ['./ade20k_640x640.py']
crop_size = (512, 512)
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),  # corrupt/truncated image: stop with the file name
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# Multi-scale + flip test at 512 (unilm beit *_512_*_ms.py: img_scale (2048, 512), the same ratios and clamp):
# short sides 512 (x3), 640, 768, 896, each as is and flipped.
tta_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_short_sides = [max(crop_size[0], int(512 * r)) for r in tta_ratios]
tta_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(4 * s, s), keep_ratio=True) for s in tta_short_sides],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='LoadAnnotations', reduce_zero_label=True)],
        [dict(type='PackSegInputs')]]),
]
