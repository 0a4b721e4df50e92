# Fine-tuning of the MaskDistill ViT-B on ImageNet-1k: 100 epochs, AdamW lr 5e-4 at batch 1024 (auto_scale_lr),
# layer decay 0.65, drop path 0.1, 20 warm-up epochs + cosine, mixup 0.8 / cutmix 1.0, RandAugment, label smoothing
# 0.1, random erasing 0.25, mean pooling; ImageNet mean / std as in pretraining. Paper: 85.3 top-1.
# The pretraining checkpoint loads directly: shared relative position bias expanded per layer, mask token dropped.
_base_ = ['../beit/beit-b_in1k.py']
mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
bgr_mean = mean[::-1]
data_preprocessor = dict(mean=mean, std=std)
model = dict(backbone=dict(
    drop_path_rate=0.1,
    init_cfg=dict(type='Pretrained', checkpoint='work_dirs/maskdistill_clip-b16_vit-b_300e_in1k/epoch_300.pth')))
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10, magnitude_level=9,
         magnitude_std=0.5, hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=bgr_mean, fill_std=std[::-1]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=5e-4), paramwise_cfg=dict(layer_decay_rate=0.65))
