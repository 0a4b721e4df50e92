# beit-b_ft22k_in1k.py at 384 px (unilm: the same recipe with --input_size 384 and beit_base_patch16_384; the 224-px
# file's relative position tables are resized from the 14x14 to the 24x24 grid when loaded). Evaluation as unilm's
# datasets.py for inputs >= 384: crop_pct 1.0, i.e. the short side resized to 384, then the 384 center crop.
# Official: 86.8 top-1 / 98.1 top-5 (beit_base_patch16_384_pt22k_ft22kto1k.pth; its evaluation: Acc@1 86.820).
_base_ = ['./beit-b_ft22k_in1k.py']
img_size = 384
model = dict(backbone=dict(img_size=img_size))
bgr_mean = [127.5, 127.5, 127.5]
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='RandomResizedCrop', scale=img_size, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10, magnitude_level=9,
         magnitude_std=0.5, hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=bgr_mean, fill_std=[127.5, 127.5, 127.5]),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),  # corrupt/truncated image: stop with the file name
    dict(type='ResizeEdge', scale=img_size, edge='short', backend='pillow', interpolation='bicubic'),  # crop_pct 1
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
