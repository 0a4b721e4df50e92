# unilm BEiT-B fine-tuning: 100 epochs, lr 4e-3 for a total batch of 1024 (auto_scale_lr), layer decay 0.65,
# 20 warm-up epochs then cosine to min_lr 1e-6 per group: unilm sets each group's lr to schedule(it) * lr_scale,
# so the floor is min_lr * lr_scale, which beitmm.CosineAnnealingLR(min_lr=...) gives: it keeps the layer-decay
# ratios to the end (an absolute eta_min would give every group the same floor). Weight decay as unilm's
# no_weight_decay(): none on 1-D tensors, pos_embed and cls_token; the per-layer relative position tables are
# decayed (unilm's default, --disable_weight_decay_on_rel_pos_bias off).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-3, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='beitmm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.65, no_decay_names=('pos_embed', 'cls_token')))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=20, convert_to_iter_based=True),
    dict(type='beitmm.CosineAnnealingLR', by_epoch=True, begin=20, end=100, min_lr=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(type='beitmm.ResumableEpochBasedTrainLoop', max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=True, base_batch_size=1024)
