# UperNet + BEiT v2-B on ADE20K from the IN-21k intermediate fine-tuned weights (unilm beit2
# upernet_beit_base_12_512_slide_160k_21ktoade20k.py: lr 5e-5, layer decay 0.85, drop path 0.15, 512 crops, slide
# 341, 160k iterations at 8 x 2). Official: 53.5 mIoU (beitv2_base_patch16_224_pt1k_ft21ktoade20k.pth, beit2/README.md).
# The fine-tuned file's per-layer tables are resized from 14x14 to 32x32 at load time; fc_norm and the head dropped.
_base_ = ['./upernet_beitv2-b_ade20k.py']
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/beitv2_base_patch16_224_pt1k_ft21k.pth')))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.85))
