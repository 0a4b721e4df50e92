# VLMo pretraining optimisation (unilm vlmo/vlmo/config.py + vlmo_utils.set_schedule): AdamW (0.9, 0.98), eps 1e-8,
# weight decay 0.01 except biases and norms, linear (polynomial power 1) decay to 0 after warm-up, 200k steps with
# 2.5k warm-up steps (the README's ``step200k``), fp16, batch 1024 (e.g. 32 GPUs x 32).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='float16',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=2500),
    dict(type='PolyLR', power=1.0, eta_min=0., by_epoch=False, begin=2500, end=200_000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=200_000)
