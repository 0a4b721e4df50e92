# UperNet + BEiT-B on ADE20K, 640x640, 160k iterations, 8 GPUs x 2 images (unilm
# upernet_beit_base_12_640_slide_160k_ade20k_pt2ft: 53.6 mIoU single-scale with IN-22k pretraining +
# intermediate IN-22k fine-tuning). The official checkpoint loads as is (no conversion step).
_base_ = [
    '../_base_/models/upernet_beit.py', '../_base_/datasets/ade20k_640x640.py',
    '../_base_/schedules/ade20k_160k_layer_decay.py', '../_base_/default_runtime.py'
]
default_scope = 'mmseg'
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=16000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit_base_patch16_224_pt22k_ft22k.pth')))
