# BEiT-3 large on NLVR2: lr 3e-4 (1e-4 from -indomain), layer decay 0.85 (unilm get_started_for_nlvr2.md).
# Reported: 88.5 dev / 89.4 test-P (89.2 / 90.0 from -indomain).
_base_ = ['./beit3-b_nlvr2.py']
model = dict(backbone=dict(arch='large', init_cfg=dict(checkpoint='pretrain/beit3_large_patch16_224.pth')))
optim_wrapper = dict(optimizer=dict(lr=3e-4), paramwise_cfg=dict(layer_decay_rate=0.85))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=5, end=20, eta_min_ratio=1e-6 / 3e-4,
         convert_to_iter_based=True),
]
