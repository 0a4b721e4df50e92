# Mask R-CNN, BEiT v2-B (1k pretraining, VQ-KD CLIP-B/16 targets), ViTDet recipe as the BEiT-B config. The released
# pretraining file's shared relative position table is copied into every block (window blocks: as is; global
# blocks: resized to the 64 x 64 grid); its mask token and LM head are dropped.
_base_ = ['./mask-rcnn_beit-b_simplefpn_lsj-100e_coco.py']
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),  # BEiT v2: ImageNet's
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/beitv2_base_patch16_224_pt1k.pth')))
