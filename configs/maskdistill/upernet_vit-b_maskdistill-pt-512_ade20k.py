# UperNet + MaskDistill ViT-B on ADE20K, 512x512, 160k iterations at batch 16, from the MaskDistill pretraining
# checkpoint (shared relative position bias expanded per layer and resized 14x14 -> 32x32 at load time).
# Hyper-parameters follow BEiT v2's ADE20K recipe (lr 5e-5, layer decay 0.75, drop path 0.15), on which MaskDistill
# builds; ImageNet mean / std as in pretraining. Paper: 53.8 mIoU (ViT-B), 58.8 (ViT-H).
_base_ = ['../beit/upernet_beit-b_512_ade20k.py']
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
    backbone=dict(
        drop_path_rate=0.15,
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/maskdistill_clip-b16_vit-b_300e_in1k/epoch_300.pth')))
optim_wrapper = dict(optimizer=dict(lr=5e-5), paramwise_cfg=dict(layer_decay_rate=0.75))
