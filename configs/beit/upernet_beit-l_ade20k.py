# UperNet + BEiT-L on ADE20K, 640x640 (unilm upernet_beit_large_24_640_slide_160k_ade20k_pt2ft: lr 2e-5,
# layer decay 0.95, drop path 0.2, layer scale 1e-6, 3000 warm-up iterations; 56.7 mIoU). unilm runs it as
# 8 GPUs x 1 image with 2-step accumulation (320k iterations = 160k updates); this config keeps 2 images
# per GPU and 160k updates, the same total batch of 16.
_base_ = ['./upernet_beit-b_ade20k.py']
model = dict(
    backbone=dict(
        arch='large',
        out_indices=(7, 11, 15, 23),
        drop_path_rate=0.2,
        layer_scale_init_value=1e-6,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit_large_patch16_224_pt22k_ft22k.pth')),
    decode_head=dict(channels=1024))  # the input widths follow the backbone
optim_wrapper = dict(optimizer=dict(lr=2e-5), paramwise_cfg=dict(layer_decay_rate=0.95))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=3000),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=3000, end=160000),
]
