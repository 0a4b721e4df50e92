# BEiT-3 large on NLVR2: lr 3e-4 (1e-4 from -indomain), layer decay 0.85 (unilm get_started_for_nlvr2.md).
# Reported: 88.5 dev / 89.4 test-P (89.2 / 90.0 from -indomain).
_base_ = ['./beit3-b_nlvr2.py']
model = dict(backbone=dict(arch='large', init_cfg=dict(checkpoint='pretrain/beit3_large_patch16_224.pth')))
optim_wrapper = dict(optimizer=dict(lr=3e-4), paramwise_cfg=dict(layer_decay_rate=0.85))
