# Mask R-CNN, BEiT-B (pt22k, ft22k) backbone, ViTDet recipe: windowed attention + simple feature pyramid, LSJ at
# 1024 px, 100 epochs at batch 64. No official BEiT detection result exists (unilm has no detection code; the
# maintainers point to ViTDet, unilm#1047 / #1108): configs/det/README.md.
_base_ = [
    '../_base_/models/mask-rcnn_beit_simplefpn.py',
    '../_base_/datasets/coco_instance_lsj.py',
    '../_base_/schedules/coco_lsj_100e_adamw_layer_decay.py',
    '../_base_/default_runtime.py',
]
default_scope = 'mmdet'  # unscoped names inside mmdet's components (losses, assigners, coders) are mmdet's
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit_base_patch16_224_pt22k_ft22k.pth')))
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=5000, max_keep_ckpts=3, save_last=True))
log_processor = dict(by_epoch=False)
