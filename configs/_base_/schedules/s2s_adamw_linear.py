# s2s-ft's optimisation (run_seq2seq.py): AdamW, eps 1e-8, weight decay 0.01 except biases and LayerNorm weights,
# linear warm-up then linear decay to 0, gradient clipping at 1.0; iterations (configs: checkpoints every 1500).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=7e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
    clip_grad=dict(max_norm=1.0),
    paramwise_cfg=dict(bias_decay_mult=0., norm_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=500),
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=False, begin=500, end=32000),
]
train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=32000, val_interval=4000)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=False, base_batch_size=64)  # 4 GPUs x 16 (every s2s-ft recipe)
