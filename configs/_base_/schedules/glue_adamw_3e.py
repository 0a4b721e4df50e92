# BERT's GLUE fine-tuning (Devlin et al. 2019, §4.1): batch 32, 3 epochs, Adam lr from {5e-5, 4e-5, 3e-5, 2e-5}
# (2e-5 here, a choice), weight decay 0.01, linear warmup over the first 10% of steps then linear decay to 0.
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-5, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=0.3, convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=True, begin=0.3, end=3,
         convert_to_iter_based=True),
]
train_cfg = dict(type='beitmm.ResumableEpochBasedTrainLoop', max_epochs=3, val_interval=1)  # exact resume
val_cfg = dict()
test_cfg = dict()
