# beit-l_ft22k_in1k.py at 512 px (unilm: --input_size 512, beit_large_patch16_512; 14x14 -> 32x32 relative position
# tables at load time; evaluation: short side 512, 512 center crop). Official: 88.60 top-1 / 98.66 top-5
# (beit_large_patch16_512_pt22k_ft22kto1k.pth; its evaluation: Acc@1 88.600). unilm#370 reports a poor result from
# 2 GPUs x 4 images x 64 accumulation steps (total 512); unilm#676: keep the total batch and lr of the recipe.
_base_ = ['./beit-l_ft22k-384_in1k.py']
img_size = 512
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
