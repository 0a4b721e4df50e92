# BEiT-3 base fine-tuned on ImageNet-1k (unilm beit3/get_started/get_started_for_image_classification.md):
# 50 epochs (5 warm-up), AdamW lr 7e-4 at a total batch of 1024 (auto_scale_lr), weight decay 0.05, layer decay
# 0.65, drop path 0.15, mixup 0.8 / cutmix 1.0, label smoothing 0.1, RandAugment m9, random erasing 0.25,
# ImageNet mean / std, cosine to min_lr 1e-6 per group, evaluation at crop_pct 1.0.
# Reported: 85.4 top-1 (beit3_base_patch16_224).
# The official checkpoint loads as it is (its language expert and text embedding dropped, with a report line each).
_base_ = [
    '../_base_/models/beit3_cls.py', '../_base_/datasets/imagenet_bs128_beit.py',
    '../_base_/schedules/imagenet_bs1024_adamw_layer_decay.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
data_preprocessor = dict(mean=mean, std=std)
# evaluation: short side resized to 224, centre crop 224 (unilm's crop_pct defaults to 1.0 for BEiT-3:
# datasets.py:792-801; the BEiT base dataset config resizes to 256 first, BEiT v1's crop_pct 0.875)
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='ResizeEdge', scale=224, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit3_base_patch16_224.pth')))
optim_wrapper = dict(
    optimizer=dict(lr=7e-4),
    # unilm no_weight_decay(): 1-D tensors, the vision position table and the cls token
    paramwise_cfg=dict(layer_decay_rate=0.65, no_decay_names=('cls_token', ),
                       custom_keys={'embed_positions.A': dict(decay_mult=0.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='beitmm.CosineAnnealingLR', by_epoch=True, begin=5, end=50, min_lr=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=50)
