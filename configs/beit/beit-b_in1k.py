# BEiT-B fine-tuning on ImageNet-1k (unilm recipe: 100 epochs, lr 4e-3 @ batch 1024, layer decay 0.65,
# drop path 0.1, mixup 0.8 / cutmix 1.0, RandAugment, label smoothing 0.1, random erasing 0.25,
# mean pooling). Paper: 83.2 top-1 with IN-1k self-supervised pretraining (83.7 from IN-22k).
# 8 GPUs x 128 images; auto_scale_lr rescales lr for other total batches.
_base_ = [
    '../_base_/models/beit_cls.py', '../_base_/datasets/imagenet_bs128_beit.py',
    '../_base_/schedules/imagenet_bs1024_adamw_layer_decay.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit_base_patch16_224_pt22k.pth')))
