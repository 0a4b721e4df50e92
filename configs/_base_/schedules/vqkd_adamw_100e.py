# unilm VQ-KD schedule (beit2/TOKENIZER.md, run_vqkd_training.py): AdamW betas (0.9, 0.99), weight decay 1e-4
# (not on norms, biases, cls_token, pos_embed), lr 5e-5 per 128 images (2e-4 at 8 x 64), 10 warm-up epochs from
# 1e-6 then cosine to 1e-5, 100 epochs, no gradient clipping (clipping stalled training: microsoft/unilm#865).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.99), weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.,
                       custom_keys={'.cls_token': dict(decay_mult=0.), '.pos_embed': dict(decay_mult=0.),
                                    'q_bias': dict(decay_mult=0.), 'v_bias': dict(decay_mult=0.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=5e-3, by_epoch=True, begin=0, end=10, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=10, end=100, convert_to_iter_based=True),
]
train_cfg = dict(type='beitmm.ResumableEpochBasedTrainLoop', max_epochs=100)
auto_scale_lr = dict(enable=True, base_batch_size=512)
