# BEiT-3 VL fine-tuning schedule (unilm beit3/run_beit3_finetuning.py): AdamW, linear warm-up, cosine to min_lr 1e-6
# per group, layer decay layer_decay^(L+1-i) over the backbone, no weight decay on 1-D tensors, the cls token, the
# vision position table and logit_scale. Each task config sets lr, betas, weight decay, layer decay and epochs.
# Warm-up from 1e-3 x lr (choice: unilm's cosine_scheduler warms up linearly from 0, utils.py:419-427).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    constructor='beitmm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=1.0, no_decay_names=('cls_token', 'logit_scale'),
                       custom_keys={'embed_positions.A': dict(decay_mult=0.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='beitmm.CosineAnnealingLR', by_epoch=True, begin=1, end=10, min_lr=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(type='beitmm.ResumableEpochBasedTrainLoop', max_epochs=10, val_interval=1)
