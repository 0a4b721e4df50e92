# Demo step 3/4: linear probe of the tiny BEiT v2 student (frozen backbone, [cls ; mean patch] of the last block,
# BatchNorm without affine + linear) on the demo classification data. Same family as
# configs/beitv2/beitv2-b_linear_in1k.py.
_base_ = ['../beitv2/beitv2-b_linear_in1k.py']
arch = dict(_delete_=True, embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)
data_root = 'data/demo/imagenet'
model = dict(
    backbone=dict(arch=arch, img_size=64, patch_size=8,
                  init_cfg=dict(checkpoint='work_dirs/beitv2-tiny_demo_pretrain/epoch_10.pth')),
    neck=dict(in_channels=96),
    head=dict(num_classes=4, in_channels=192))
data_preprocessor = dict(num_classes=4)
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True, pin_memory=False,
    dataset=dict(data_root=data_root, pipeline=[
        dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
        dict(type='RandomResizedCrop', scale=64, crop_ratio_range=(0.6, 1.0), backend='pillow',
             interpolation='bicubic'),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs')]))
val_dataloader = dict(
    batch_size=50, num_workers=1, persistent_workers=True, pin_memory=False,
    dataset=dict(data_root=data_root, pipeline=[dict(type='beitmm.RobustLoadImageFromFile'), dict(type='PackInputs')]))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=1e-2))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=10, eta_min=0., convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10, val_interval=5)
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=10, max_keep_ckpts=1))
