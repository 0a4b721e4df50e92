# UperNet + BEiT v2-L on ADE20K from the IN-21k intermediate fine-tuned weights (unilm beit2
# upernet_beit_large_24_512_slide_160k_21ktoade20k.py: lr 3e-5, layer decay 0.9, drop path 0.2, layer scale 1e-6,
# out_indices [7, 11, 15, 23]). Official: 57.5 mIoU (beitv2_large_patch16_224_pt1k_ft21ktoade20k.pth).
_base_ = ['./upernet_beitv2-l_ade20k.py']
model = dict(
    backbone=dict(
        layer_scale_init_value=1e-6,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beitv2_large_patch16_224_pt1k_ft21k.pth')))
optim_wrapper = dict(optimizer=dict(lr=3e-5))
