# Cascade Mask R-CNN, BEiT-L (pt22k, ft22k), ViTDet-L recipe (detectron2 projects/ViTDet
# cascade_mask_rcnn_vitdet_l_100ep.py): global attention in blocks 5, 11, 17, 23, drop path 0.4, layer decay 0.8,
# three cascade stages (IoU 0.5 / 0.6 / 0.7) of class-agnostic 4-conv + 1-fc box heads with LayerNorm.
_base_ = ['./mask-rcnn_beit-b_simplefpn_lsj-100e_coco.py']
norm_cfg = dict(type='beitmm.LN2d', requires_grad=True)


def _box_head(stds):
    return dict(
        type='Shared4Conv1FCBBoxHead', in_channels=256, conv_out_channels=256, fc_out_channels=1024,
        roi_feat_size=7, num_classes=80, norm_cfg=norm_cfg, reg_class_agnostic=True,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=stds),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0))


def _rcnn(iou):
    return dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=iou, neg_iou_thr=iou, min_pos_iou=iou,
                      match_low_quality=False, ignore_iof_thr=-1),
        sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1, add_gt_as_proposals=True),
        mask_size=28, pos_weight=-1, debug=False)


model = dict(
    backbone=dict(
        arch='large',
        drop_path_rate=0.4,  # ViTDet-L
        layer_scale_init_value=1e-5,  # BEiT-L
        window_block_indexes=[i for i in range(24) if i % 6 != 5],  # global attention in 5, 11, 17, 23
        with_cp=True,  # choice: activation checkpointing of the 24 blocks at 1024 px (ViTDet-L: as well)
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit_large_patch16_224_pt22k_ft22k.pth')),
    roi_head=dict(
        _delete_=True,
        type='CascadeRoIHead',
        num_stages=3,
        # choice: mmdet's stage weights; detectron2 sums the three stage losses and scales their gradient into
        # the shared features by 1/3
        stage_loss_weights=[1, 0.5, 0.25],
        bbox_roi_extractor=dict(type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=7,
                                                                          sampling_ratio=0),
                                out_channels=256, featmap_strides=[4, 8, 16, 32]),
        bbox_head=[_box_head([0.1, 0.1, 0.2, 0.2]), _box_head([0.05, 0.05, 0.1, 0.1]),
                   _box_head([0.033, 0.033, 0.067, 0.067])],  # detectron2's (10, 10, 5, 5), (20, ...), (30, ...)
        mask_roi_extractor=dict(type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=14,
                                                                          sampling_ratio=0),
                                out_channels=256, featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(type='FCNMaskHead', num_convs=4, in_channels=256, conv_out_channels=256, num_classes=80,
                       norm_cfg=norm_cfg, loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=[_rcnn(0.5), _rcnn(0.6), _rcnn(0.7)]))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.8))  # ViTDet-L
