# Cascade Mask R-CNN, BEiT-3-L vision expert (beit3_large_patch16_224.pth), the ViTDet-L cascade recipe of the
# BEiT-L config (global attention in layers 5, 11, 17, 23, drop path 0.4, layer decay 0.8).
_base_ = ['./cascade-mask-rcnn_beit-l_simplefpn_lsj-100e_coco.py']
model = dict(
    data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3),  # choice: BEiT-3's pretraining normalisation
    backbone=dict(
        _delete_=True,
        type='beitmm.BEiT3',
        arch='large',
        img_size=(1024, 1024),
        modalities=('vision', ),
        out_type='featmap',
        normalize_output=False,
        drop_path_rate=0.4,
        with_cls_token=False,
        window_size=14,
        window_block_indexes=[i for i in range(24) if i % 6 != 5],
        with_cp=True,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit3_large_patch16_224.pth')))
