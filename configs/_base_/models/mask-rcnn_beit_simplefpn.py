# Mask R-CNN with a plain BEiT-B backbone, ViTDet style (Li et al., 2022; detectron2 projects/ViTDet
# mask_rcnn_vitdet_b_100ep.py): windowed attention with 4 global blocks, a simple feature pyramid from the last map,
# 2-conv RPN head, 4-conv + 1-fc box head and LayerNorm in the pyramid and heads. mmdet 3.3 components
# (scope-prefixed), beitmm backbone and neck.
norm_cfg = dict(type='beitmm.LN2d', requires_grad=True)
det_image_size = (1024, 1024)
model = dict(
    type='mmdet.MaskRCNN',
    data_preprocessor=dict(
        type='mmdet.DetDataPreprocessor',
        # BEiT (v1) normalises to [-1, 1] (unilm IMAGENET_INCEPTION mean / std); BEiT v2 configs use ImageNet's
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_size_divisor=32,
        pad_mask=True,
        # every training image padded to the fixed 1024 x 1024 canvas (ViTDet's LSJ); positions then never resize
        batch_augments=[dict(type='mmdet.BatchFixedSizePad', size=det_image_size, pad_mask=True)]),
    backbone=dict(
        type='beitmm.BEiT',
        arch='base',
        img_size=det_image_size,
        patch_size=16,
        out_type='featmap',
        drop_path_rate=0.1,  # ViTDet-B
        layer_scale_init_value=0.1,
        use_abs_pos_emb=False,
        use_rel_pos_bias=True,
        with_cls_token=False,  # ViTDet: patch tokens only
        window_size=14,  # ViTDet: 14 x 14 windows (the 224-px pretraining grid, so window tables load unresized)
        window_block_indexes=[0, 1, 3, 4, 6, 7, 9, 10],  # ViTDet-B: global attention in blocks 2, 5, 8, 11
        with_cp=False),
    neck=dict(
        type='beitmm.SimpleFPN',
        in_channels=dict(follows='backbone'),
        out_channels=256,
        scale_factors=(4.0, 2.0, 1.0, 0.5),
        num_outs=5,
        norm_cfg=norm_cfg),
    rpn_head=dict(
        type='mmdet.RPNHead',
        in_channels=256,
        feat_channels=256,
        num_convs=2,  # ViTDet
        anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0], target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='mmdet.StandardRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',  # ViTDet: 4 convs + 1 fc, LayerNorm
            in_channels=256,
            conv_out_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            norm_cfg=norm_cfg,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=4,
            in_channels=256,
            conv_out_channels=256,
            num_classes=80,
            norm_cfg=norm_cfg,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(
                type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3, match_low_quality=True,
                ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1, add_gt_as_proposals=False),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(nms_pre=2000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(
            assigner=dict(
                type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5, match_low_quality=True,
                ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1, add_gt_as_proposals=True),
            mask_size=28,
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100, mask_thr_binary=0.5)))
