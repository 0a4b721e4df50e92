# BEiT-3 large on ImageNet-1k (unilm recipe): lr 2e-4, layer decay 0.8, drop path 0.25. Reported: 87.6 top-1.
_base_ = ['./beit3-b_in1k.py']
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.25,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit3_large_patch16_224.pth')),
    head=dict(in_channels=1024))
optim_wrapper = dict(optimizer=dict(lr=2e-4), paramwise_cfg=dict(layer_decay_rate=0.8))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=5, end=50, eta_min_ratio=1e-6 / 2e-4,  # min_lr 1e-6
         convert_to_iter_based=True),
]
