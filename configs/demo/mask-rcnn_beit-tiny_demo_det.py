# Demo: Mask R-CNN with the tiny BEiT of the demos (ViTDet-style windowed backbone + simple feature pyramid) on
# generated COCO-layout scenes (beitmm.testing.synthetic_coco: squares / triangles / discs as polygons), from
# scratch or from the demo's BEiT pretraining checkpoint (tools/demo.py --task det sets model.backbone.init_cfg to
# it; the same budget for both). Same model family and recipe shape as
# configs/det/mask-rcnn_beit-b_simplefpn_lsj-100e_coco.py, sized for 2 CPU cores. Every number below that differs
# from that config is a choice made for this size.
_base_ = ['../det/mask-rcnn_beit-b_simplefpn_lsj-100e_coco.py']
classes = ('square', 'triangle', 'disc')  # beitmm.testing.synthetic_coco.COCO_SHAPES
data_root = 'data/demo/det/'  # tools/demo.py --task det writes it (make_coco_data) and passes its own --data
img_size = 64  # choice: the scenes' side; 64 px = an 8 x 8 grid of 8-px patches, the pretraining grid
# choice: the tiny BEiT of every demo (configs/demo/beit-tiny_demo_pretrain.py), so its checkpoint loads as it is
arch = dict(_delete_=True, embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)
fpn_dims = 32  # choice: width of the pyramid and heads (256 in ViTDet)
norm_cfg = dict(type='beitmm.LN2d', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        batch_augments=[dict(type='mmdet.BatchFixedSizePad', size=(img_size, img_size), pad_mask=True)]),
    backbone=dict(
        arch=arch,
        img_size=img_size,
        patch_size=8,  # the pretraining's patches (16 in ViTDet)
        drop_path_rate=0.05,  # choice: the demo classifiers' value
        window_size=4,  # choice: 4 x 4 windows of the 8 x 8 grid (ViTDet: 14 of 64)
        window_block_indexes=[0, 2],  # choice: blocks 1 and 3 global (ViTDet-B: one block in three global)
        init_cfg=None),  # from scratch unless the demo gives dict(type='Pretrained', checkpoint=...)
    neck=dict(
        in_channels=96,
        out_channels=fpn_dims,
        # choice: strides 4, 8, 16 from the stride-8 map (+ pooled 32); ViTDet's 4.0 would give stride 2
        scale_factors=(2.0, 1.0, 0.5),
        num_outs=4),
    rpn_head=dict(
        in_channels=fpn_dims,
        feat_channels=fpn_dims,
        # choice: anchors 2x the stride, 8 .. 64 px: the objects are 8 .. 28 px on a 64 px scene
        anchor_generator=dict(scales=[2], strides=[4, 8, 16, 32])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=fpn_dims, featmap_strides=[4, 8, 16]),
        # choice: mmdet's standard Mask R-CNN box head, 2 fc of 256 on the RoI features, no norm (ViTDet: 4 convs + 1 fc
        # of 1024 with LayerNorm, several times slower per step on a CPU)
        bbox_head=dict(_delete_=True, type='Shared2FCBBoxHead', in_channels=fpn_dims, fc_out_channels=256,
                       roi_feat_size=7, num_classes=len(classes), reg_class_agnostic=False,
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                       loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        # choice: 7 x 7 mask features and 14 x 14 masks (ViTDet: 14 and 28): the objects are at most 28 px, so a cell
        # is at most 2 px
        mask_roi_extractor=dict(roi_layer=dict(output_size=7), out_channels=fpn_dims, featmap_strides=[4, 8, 16]),
        # choice: 2 convs (ViTDet: 4)
        mask_head=dict(num_convs=2, in_channels=fpn_dims, conv_out_channels=fpn_dims, num_classes=len(classes))),
    train_cfg=dict(
        # choice: fewer proposals and sampled RoIs for scenes of 1-4 objects (ViTDet: 1000 and 512 per image)
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=64), mask_size=14)),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100), rcnn=dict(max_per_img=20)))
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    # choice: a mild jitter (0.8-1.25, ViTDet 0.1-2.0): at 0.1 a 64 px scene would be smaller than one patch
    dict(type='RandomResize', scale=(img_size, img_size), ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_type='absolute_range', crop_size=(img_size, img_size), recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),  # corrupt/truncated image: stop with the file name
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
metainfo = dict(classes=classes)
train_dataloader = dict(
    batch_size=4,  # choice: batch 4 (ViTDet: 64): more steps in the same CPU time
    num_workers=1,  # choice: one worker beside the one-thread training process (2 cores, 2 stages at a time)
    persistent_workers=True,
    # choice: plain batches. Every scene is square, so mmdet's AspectRatioBatchSampler would group nothing; and with
    # workers it hangs under beitmm's ResumableIterBasedTrainLoop (the loop re-creates the first iterator, whose
    # suspended generator leaves the shared bucket full: it then grows forever)
    batch_sampler=None,
    dataset=dict(data_root=data_root, metainfo=metainfo, filter_cfg=dict(filter_empty_gt=True, min_size=0),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator
# choice: AdamW at lr 1e-3 and weight decay 0.05 for a batch of 4 (ViTDet: 1e-4 and 0.1 at 64), layer decay 0.75 over
# 4 blocks (the demo classifier's; ViTDet-B 0.7 over 12)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05), paramwise_cfg=dict(layer_decay_rate=0.75))
max_iters = 1000  # choice: the iteration budget (tools/demo.py --det-iters), what fits the demo's 10 minutes
warmup = 50  # choice: linear warm-up iterations (ViTDet: 250)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=warmup),
    # choice: cosine decay to the end (ViTDet: x0.1 steps at 89% and 96%), so any --det-iters keeps its shape
    dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup, end=max_iters, eta_min=1e-6),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1, save_last=True))
log_processor = dict(by_epoch=False, window_size=20)
