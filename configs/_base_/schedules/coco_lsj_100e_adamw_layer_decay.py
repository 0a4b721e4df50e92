# ViTDet's 100-epoch LSJ schedule (detectron2 projects/ViTDet mask_rcnn_vitdet_b_100ep.py): AdamW lr 1e-4,
# betas (0.9, 0.999), weight decay 0.1, layer-wise lr decay 0.7 (B; 0.8 for L), 250 linear warm-up iterations,
# 184,375 iterations at a total batch of 64 (100 epochs of COCO train2017), lr x 0.1 at 88 and 96 epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    constructor='beitmm.LayerDecayOptimWrapperConstructor',
    # choice: BEiT's / mmdet-ViTDet's no-decay rule (1-D tensors, cls token, pos_embed); detectron2's ViTDet decays
    # biases and exempts norms and pos_embed only
    paramwise_cfg=dict(layer_decay_rate=0.7),
    clip_grad=None)
max_iters = 184375
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[163889, 177546], gamma=0.1),
]
train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=True, base_batch_size=64)
