# THE-X, the original model: a tiny BEiT classifier (width 32, 2 blocks, 2 heads, relative position bias, layer
# scale) on the generated shapes dataset at 32 px with 16 px patches (4 patch tokens + cls), trained from scratch.
# Sized so the encrypted run of configs/the_x takes seconds per image on 2 CPU cores (choice).
_base_ = ['../demo/beit-tiny_demo_cls.py']
arch = dict(_delete_=True, embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)  # (choice)
model = dict(
    backbone=dict(arch=arch, img_size=32, patch_size=16, drop_path_rate=0.),
    head=dict(in_channels=32))
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='Resize', scale=(32, 32), backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='Resize', scale=(32, 32), backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=4e-3), paramwise_cfg=dict(layer_decay_rate=1.0))  # (choice)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=20, eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=20, val_interval=10)  # (choice)
default_hooks = dict(checkpoint=dict(interval=20, max_keep_ckpts=1))
