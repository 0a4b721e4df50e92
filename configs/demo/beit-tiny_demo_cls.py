# Demo: a tiny BEiT classifier on the generated shapes dataset (data/demo/imagenet, ImageNet layout), from
# scratch or from the demo pretraining checkpoint (tools/demo.py passes it as load_from; the same budget for both).
# Same model family and recipe shape as configs/beit/beit-b_in1k.py, sized for 2 CPU cores.
_base_ = ['../beit/beit-b_in1k.py']
arch = dict(_delete_=True, embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)
data_root = 'data/demo/imagenet'
model = dict(
    backbone=dict(arch=arch, img_size=64, patch_size=8, drop_path_rate=0.05, init_cfg=None),
    head=dict(num_classes=4, in_channels=96, init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.02)]),
    train_cfg=None)  # no mixup / cutmix on a 400-image dataset
data_preprocessor = dict(num_classes=4)
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='RandomResizedCrop', scale=64, crop_ratio_range=(0.6, 1.0), backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='beitmm.RobustLoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True, pin_memory=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=50, num_workers=1, persistent_workers=True, pin_memory=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05), paramwise_cfg=dict(layer_decay_rate=0.75))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=10, eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10, val_interval=5)
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=1))
