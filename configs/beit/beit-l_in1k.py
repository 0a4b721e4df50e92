# BEiT-L fine-tuning on ImageNet-1k (unilm: lr 1e-3 @ 1024, 50 epochs / 5 warm-up, layer decay 0.75,
# drop path 0.2; 86.0 top-1 from IN-22k self-supervised weights).
_base_ = ['./beit-b_in1k.py']
model = dict(  # the head's width follows the backbone's
    backbone=dict(
        arch='large',
        drop_path_rate=0.2,
        layer_scale_init_value=1e-5,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit_large_patch16_224_pt22k.pth')))
optim_wrapper = dict(optimizer=dict(lr=1e-3), paramwise_cfg=dict(layer_decay_rate=0.75))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='beitmm.CosineAnnealingLR', by_epoch=True, begin=5, end=50, min_lr=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=50)
