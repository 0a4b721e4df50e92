# BEiT-L pretraining on ImageNet-1k, 800 epochs (layer scale 1e-5).
_base_ = ['./beit-b_pretrain_in1k.py']
model = dict(backbone=dict(arch='large', layer_scale_init_value=1e-5))  # the head's width follows the backbone
