# BEiT v2-B fine-tuning from the 1600-epoch pretraining: layer decay 0.6, drop path 0.2. Paper: 85.5 top-1.
# Official weights work too: checkpoint='pretrain/beitv2_base_patch16_224_pt1k.pth'.
_base_ = ['./beitv2-b_in1k.py']
model = dict(
    backbone=dict(
        drop_path_rate=0.2,
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/beitv2-b_pretrain-1600e_in1k/epoch_1600.pth')))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.6))
