# BEiT v2-L pretraining, 1600 epochs: betas (0.9, 0.999), drop path 0.1. Paper: 87.3 top-1, 56.7 mIoU.
_base_ = ['./beitv2-b_pretrain-1600e_in1k.py']
model = dict(
    backbone=dict(arch='large', layer_scale_init_value=1e-5),
    neck=dict(arch='large', early_layers=21, layer_scale_init_value=1e-5))  # the head's width follows the backbone
