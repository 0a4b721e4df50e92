# Cascade Mask R-CNN, BEiT v2-L (1k pretraining), the BEiT-L cascade recipe; ImageNet mean / std as BEiT v2.
_base_ = ['./cascade-mask-rcnn_beit-l_simplefpn_lsj-100e_coco.py']
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/beitv2_large_patch16_224_pt1k.pth')))
