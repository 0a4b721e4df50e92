# Demo: CIM-ResPix with a narrow ResNet-50 enhancer (ResNet-50 layers and keys at 1/4 of the width), otherwise as
# cim-respix_beit-tiny_demo_pretrain.py (random tiny dVAE: mechanics only). At 64 px the last stage is a 2 x 2 map
# (stride 32).
_base_ = ['./cim-respix_beit-tiny_demo_pretrain.py']
model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.ResNet', depth=50, base_channels=16, stem_channels=16,
                  out_indices=(3, ), norm_cfg=dict(type='BN', requires_grad=True)),
    enhancer_mean=(0.485, 0.456, 0.406),
    enhancer_std=(0.229, 0.224, 0.225),
    head=dict(in_channels=16 * 4 * 8, encoder_stride=32))
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=3.0), paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
