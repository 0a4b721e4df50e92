# CIM pretraining, 300 epochs, both networks in one AdamW optimizer and updated in the same step. BEiT's
# pretraining recipe (the paper builds on it; its exact CIM values were not in the material available to us):
# lr 1.5e-3 for a total batch of 2048 (auto_scale_lr), betas (0.9, 0.999), weight decay 0.05 (not on 1-D
# parameters, pos_embed and cls_token, as unilm's no_weight_decay()), 10 warm-up epochs then cosine,
# gradient clipping 3.0 (global norm over both networks).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
    constructor='beitmm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=1.0, no_decay_names=('pos_embed', 'cls_token')))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=10, end=300, convert_to_iter_based=True),
]
train_cfg = dict(type='beitmm.ResumableEpochBasedTrainLoop', max_epochs=300)
auto_scale_lr = dict(enable=True, base_batch_size=2048)
