# UperNet + BEiT-B on ADE20K, 512x512, from self-supervised weights only (unilm
# upernet_beit_base_12_512_slide_160k_ade20k_pt: lr 7e-4, layer decay 0.65; paper: 45.6 mIoU with
# IN-1k self-supervised pretraining). Initialise from a beitmm pretraining checkpoint (shared relative
# position bias expanded per layer and resized from 14x14 to 32x32 at load time) or an official *_pt*.pth.
_base_ = [
    '../_base_/models/upernet_beit.py', '../_base_/datasets/ade20k_512x512.py',
    '../_base_/schedules/ade20k_160k_layer_decay.py', '../_base_/default_runtime.py'
]
default_scope = 'mmseg'
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=16000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        img_size=crop_size,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit_base_patch16_224_pt22k.pth')),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))
optim_wrapper = dict(optimizer=dict(lr=7e-4), paramwise_cfg=dict(layer_decay_rate=0.65))
