# Demo step 2/4: BEiT v2 pretraining of a tiny BEiT (96-d, 4 blocks, 8 px patches, 64 px images) on the demo
# unlabeled images with the tiny VQ-KD of step 1 as target generator (its checkpoint loaded as is) and the
# CLS-pretraining branch (2 blocks after block 3 of 4). Same config family as configs/beitv2/beitv2-b_pretrain_in1k.py.
# Next: configs/demo/beitv2-tiny_demo_linear.py and configs/demo/beitv2-tiny_demo_cls.py.
_base_ = ['../beitv2/beitv2-b_pretrain_in1k.py']
arch = dict(_delete_=True, embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)
model = dict(
    backbone=dict(arch=arch, img_size=64, patch_size=8, drop_path_rate=0.05),
    neck=dict(arch=arch, early_layers=3, drop_path_rate=0.05),
    head=dict(in_channels=96, out_channels=64),
    target_generator=dict(
        checkpoint='work_dirs/beitv2-tiny_demo_vqkd/epoch_10.pth',
        encoder=dict(arch=dict(_delete_=True, embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=256),
                     img_size=64, patch_size=8),
        num_codes=64,
        code_dim=32))
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='beitmm.TwoViewRandomResizedCrop', size=64, second_size=64, scale=(0.3, 1.0),
         interpolation='bicubic', second_interpolation='bicubic', backend='pillow'),
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=8, num_masking_patches=26, min_num_patches=4),  # 40%
    dict(type='beitmm.PackMIMInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True, pin_memory=False,
    dataset=dict(data_root='data/demo/unlabeled', data_prefix=dict(img_path=''), pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=1.5e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1, end=10, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10)
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=10, max_keep_ckpts=1))
log_processor = dict(window_size=5)
