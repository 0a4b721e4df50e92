# Mask R-CNN, BEiT-3-B vision expert (released pretrained file beit3_base_patch16_224.pth), ViTDet recipe as the
# BEiT-B config: patch tokens only, 14 x 14 windows with global attention in layers 2, 5, 8, 11, the absolute
# position table resized to the 64 x 64 grid at load; the language expert and text embedding are dropped at load
# (modalities=('vision',)). BEiT-3's paper reports 63.7 box / 54.8 mask AP with the giant model and its own
# detector (not this recipe).
_base_ = ['./mask-rcnn_beit-b_simplefpn_lsj-100e_coco.py']
model = dict(
    data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3),  # choice: BEiT-3's pretraining normalisation
    backbone=dict(
        _delete_=True,
        type='beitmm.BEiT3',
        arch='base',
        img_size=(1024, 1024),
        modalities=('vision', ),
        out_type='featmap',
        normalize_output=False,
        drop_path_rate=0.1,  # ViTDet-B
        with_cls_token=False,
        window_size=14,
        window_block_indexes=[0, 1, 3, 4, 6, 7, 9, 10],
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit3_base_patch16_224.pth')))
