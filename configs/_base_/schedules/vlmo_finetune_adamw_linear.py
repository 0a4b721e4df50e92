# VLMo fine-tuning schedule (vlmo/config.py, vlmo/modules/vlmo_utils.py): AdamW (0.9, 0.98), eps 1e-8, weight decay
# 0.01 except biases and norms, linear warm-up then polynomial decay (power 1) to 0, no layer decay; each task sets
# lr, epochs and the warm-up fraction.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-5, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01),
    constructor='beitmm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=1.0, no_decay_names=('cls_token', 'logit_scale')))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='PolyLR', power=1.0, eta_min=0., by_epoch=True, begin=1, end=10, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
