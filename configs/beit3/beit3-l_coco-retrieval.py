# BEiT-3 large for COCO retrieval: lr 5e-5, layer decay 0.85, from beit3_large_itc (32 GPUs in unilm's recipe).
# Reported (5k test): TR@1 82.1, IR@1 63.4.
_base_ = ['./beit3-b_coco-retrieval.py']
model = dict(backbone=dict(arch='large', init_cfg=dict(checkpoint='pretrain/beit3_large_itc_patch16_224.pth')))
optim_wrapper = dict(optimizer=dict(lr=5e-5), paramwise_cfg=dict(layer_decay_rate=0.85))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=3, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=3, end=15, eta_min_ratio=1e-6 / 5e-5,
         convert_to_iter_based=True),
]
