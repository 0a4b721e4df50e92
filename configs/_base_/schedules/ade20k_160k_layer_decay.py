# unilm BEiT ADE20K schedule: AdamW + layer decay, 1500 linear warm-up iterations then poly, 160k iterations
# at a total batch of 16 (8 GPUs x 2). auto_scale_lr rescales lr for other batch sizes (--auto-scale-lr).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-5, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='beitmm.LayerDecayOptimWrapperConstructor',
    # unilm's segmentation LayerDecayOptimizerConstructor exempts only 1-D tensors and biases from weight decay
    # (as unilm's): the relative position tables and the cls token are decayed, so no names are exempted here.
    paramwise_cfg=dict(layer_decay_rate=0.9, no_decay_names=()))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500, end=160000),
]
train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=160000, val_interval=16000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=True, base_batch_size=16)
