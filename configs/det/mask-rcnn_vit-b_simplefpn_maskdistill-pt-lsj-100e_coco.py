# Mask R-CNN, the MaskDistill ViT-B (CLIP-B/16 teacher, 300 epochs, trained with
# configs/maskdistill/maskdistill_clip-b16_vit-b_300e_in1k.py: no official checkpoint is public), ViTDet recipe.
# MaskDistill's student is BEiT's ViT (relative positions, layer scale), so it is the same backbone.
_base_ = ['./mask-rcnn_beit-b_simplefpn_lsj-100e_coco.py']
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),  # as in its pretraining
    backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='work_dirs/maskdistill_clip-b16_vit-b_300e_in1k/epoch_300.pth')))
