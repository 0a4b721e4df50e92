# BEiT v2-L fine-tuning (unilm: 50 epochs / 5 warm-up, layer decay 0.8, drop path 0.2, lr 5e-4 for the
# 300-epoch model, 2e-4 for 1600 epochs). Paper: 86.6 (300 epochs), 87.3 (1600 epochs) top-1.
_base_ = ['./beitv2-b_in1k.py']
model = dict(  # the head's width follows the backbone's
    backbone=dict(
        arch='large',
        drop_path_rate=0.2,
        layer_scale_init_value=1e-5,
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/beitv2-l_pretrain_in1k/epoch_300.pth')))
optim_wrapper = dict(optimizer=dict(lr=5e-4), paramwise_cfg=dict(layer_decay_rate=0.8))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='beitmm.CosineAnnealingLR', by_epoch=True, begin=5, end=50, min_lr=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=50)
