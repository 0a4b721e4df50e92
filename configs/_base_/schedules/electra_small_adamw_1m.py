# ELECTRA-Small pretraining schedule (configure_pretraining.py): AdamW lr 5e-4, weight decay 0.01, 10k linear
# warm-up, then linear decay to 0 over 1M steps.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), eps=1e-6,
                                                         weight_decay=0.01),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0, end=10000),
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=False, begin=10000, end=1000000),
]
train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=1000000)
