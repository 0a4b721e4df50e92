# BEiT v2-L intermediate fine-tuning on ImageNet-21k (unilm: as beitv2-b_in21k.py with drop path 0.2, from
# beitv2_large_patch16_224_pt1k.pth). Released result: beitv2_large_patch16_224_pt1k_ft21k.pth.
_base_ = ['./beitv2-b_in21k.py']
model = dict(  # the head's width follows the backbone's
    backbone=dict(
        arch='large',
        drop_path_rate=0.2,
        layer_scale_init_value=1e-5,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beitv2_large_patch16_224_pt1k.pth')))
