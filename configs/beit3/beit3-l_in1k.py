# BEiT-3 large on ImageNet-1k (unilm recipe): lr 2e-4, layer decay 0.8, drop path 0.25. Reported: 87.6 top-1.
_base_ = ['./beit3-b_in1k.py']
model = dict(  # the head's width follows the backbone's
    backbone=dict(arch='large', drop_path_rate=0.25,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit3_large_patch16_224.pth')))
optim_wrapper = dict(optimizer=dict(lr=2e-4), paramwise_cfg=dict(layer_decay_rate=0.8))
