# UperNet + BEiT-B (microsoft/unilm beit/semantic_segmentation), mmseg EncoderDecoder.
norm_cfg = dict(type='SyncBN', requires_grad=True)  # reverted to BN automatically without DDP

data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(640, 640),
    test_cfg=dict(size_divisor=16))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='beitmm.BEiT',
        arch='base',
        img_size=(640, 640),
        patch_size=16,
        out_indices=(3, 5, 7, 11),
        out_type='featmap',
        drop_path_rate=0.1,
        layer_scale_init_value=0.1,
        use_abs_pos_emb=False,
        use_rel_pos_bias=True,
        use_shared_rel_pos_bias=False),
    # Widths that follow the backbone's (beitmm.engine.config_fit): --cfg-options model.backbone.arch=... refits them.
    neck=dict(type='Feature2Pyramid', embed_dim=dict(follows='backbone'), rescales=[4, 2, 1, 0.5],
              norm_cfg=norm_cfg),
    decode_head=dict(
        type='beitmm.FastUPerHead',  # mmseg UPerHead's function and weights, cheaper fusion conv
        in_channels=[dict(follows='backbone')] * 4,
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=768,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='beitmm.LowMemoryFCNHead',  # mmseg FCNHead (same weights) + optional with_cp
        in_channels=dict(follows='backbone'),
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(640, 640), stride=(426, 426)))
