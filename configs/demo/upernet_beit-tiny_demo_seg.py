# Demo: UperNet + the tiny BEiT on the generated ADE20K-layout scenes, initialised from the demo pretraining
# checkpoint (`tools/demo.py --full` passes it as load_from; the default demo runs the linear head only). Same
# config family as configs/beit/upernet_beit-b_ade20k.py, sized for 2 CPU cores. The scenes' classes are shape
# families in random colours (beitmm.datasets.synthetic, cue='shape'): no single pixel tells the class.
_base_ = ['../beit/upernet_beit-b_ade20k.py']
arch = dict(_delete_=True, embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)
crop_size = (64, 64)
data_root = 'data/demo/ade/ADEChallengeData2016'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(arch=arch, img_size=crop_size, patch_size=8, out_indices=(0, 1, 2, 3), drop_path_rate=0.05,
                  init_cfg=None),
    neck=dict(embed_dim=96),
    decode_head=dict(in_channels=[96] * 4, channels=64, num_classes=4),  # the scenes use 4 ADE20K classes
    auxiliary_head=dict(in_channels=96, channels=32, num_classes=4),
    test_cfg=dict(mode='whole'))
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(256, 64), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=1, persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=1e-3), paramwise_cfg=dict(layer_decay_rate=0.75))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=50, end=600),
]
train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=600, val_interval=600)
auto_scale_lr = dict(enable=False)
# logs every 20 iterations: tools/demo.py shows progress (loss, ETA) from these lines
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=600, max_keep_ckpts=1))
