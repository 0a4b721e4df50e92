# BEiT v2-L pretraining, 300 epochs: layer scale 1e-5, CLS branch after block 21 (unilm beit2/PRETRAINING.md).
_base_ = ['./beitv2-b_pretrain_in1k.py']
model = dict(
    backbone=dict(arch='large', layer_scale_init_value=1e-5),
    neck=dict(arch='large', early_layers=21, layer_scale_init_value=1e-5))  # the head's width follows the backbone
