# BEiT-L pretraining on ImageNet-22k, 150 epochs (layer scale 1e-5).
_base_ = ['./beit-b_pretrain_in22k.py']
model = dict(backbone=dict(arch='large', layer_scale_init_value=1e-5))  # the head's width follows the backbone
