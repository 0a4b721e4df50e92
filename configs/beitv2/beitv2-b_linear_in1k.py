# Linear probing of BEiT v2-B on ImageNet-1k (paper: 80.1 top-1 for the 1600-epoch model). Frozen backbone
# (no gradients, eval mode), features of the probed block = [cls token ; mean patch token] (2 x 768), BatchNorm
# without affine, linear classifier. Schedule of unilm beit/run_linear_eval.py: AdamW lr 4e-3 at a total batch
# of 1024, weight decay 1e-4, 10 warm-up epochs then cosine, 100 epochs; random resized crop + flip only.
# Probe another block with model.backbone.out_indices (e.g. [8] = 9th block); the last block is the default
# because the CLS-pretraining branch trains the final cls token to summarise the image.
_base_ = ['../_base_/datasets/imagenet_bs128_beit.py', '../_base_/default_runtime.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['beitmm'], allow_failed_imports=False)
model = dict(
    type='beitmm.LinearProbeClassifier',
    backbone=dict(
        type='beitmm.BEiT',
        arch='base',
        img_size=224,
        patch_size=16,
        out_type='raw',
        out_indices=-1,
        drop_path_rate=0.,
        layer_scale_init_value=0.1,
        use_abs_pos_emb=False,
        use_rel_pos_bias=True,
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/beitv2-b_pretrain-1600e_in1k/epoch_1600.pth')),
    # widths follow the backbone's (beitmm.engine.config_fit): --cfg-options model.backbone.arch=... refits them
    neck=dict(type='beitmm.LinearProbeNeck', in_channels=dict(follows='backbone')),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=dict(follows='backbone', factor=2),  # [cls ; mean patch]
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        init_cfg=dict(type='Normal', layer='Linear', std=0.01)))
data_preprocessor = dict(num_classes=1000, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=4e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=10, end=100, eta_min=0., convert_to_iter_based=True),
]
train_cfg = dict(type='beitmm.ResumableEpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=True, base_batch_size=1024)
