# UperNet + BEiT-3 base on ADE20K, 512 crops, 160k iterations at a total batch of 16. No public implementation or
# recipe exists: this is BEiT-B's recipe from its self-supervised weights (unilm
# upernet_beit_base_12_512_slide_160k_ade20k_pt: lr 7e-4, layer decay 0.65, drop path 0.1, 1500 warm-up
# iterations + poly, slide test with stride 341), CHOSEN for BEiT-3 and unverified; normalisation: ImageNet
# mean / std as BEiT-3's ImageNet fine-tuning (a choice). No reference number.
_base_ = [
    '../_base_/models/upernet_beit3.py', '../_base_/datasets/ade20k_512x512.py',
    '../_base_/schedules/ade20k_160k_layer_decay.py', '../_base_/default_runtime.py'
]
default_scope = 'mmseg'
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=16000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit3_base_patch16_224.pth')),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))
optim_wrapper = dict(optimizer=dict(lr=7e-4), paramwise_cfg=dict(layer_decay_rate=0.65))
