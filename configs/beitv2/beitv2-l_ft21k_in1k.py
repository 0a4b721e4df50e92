# BEiT v2-L fine-tuned on ImageNet-1k from beitv2_large_patch16_224_pt1k_ft21k.pth (unilm: lr 7e-5, total batch 1024
# as 8 GPUs x 64 x 2 accumulation steps, 20 epochs / 5 warm-up, layer decay 0.8, drop path 0.25, mixup 0 / cutmix 0).
# Official: 88.4 top-1 / 98.6 top-5 (beitv2_large_patch16_224_pt1k_ft21kto1k.pth; its evaluation: Acc@1 88.370).
# This config runs 8 x 128 without accumulation (the same total batch).
_base_ = ['./beitv2-l_in1k.py']
model = dict(
    backbone=dict(
        drop_path_rate=0.25,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beitv2_large_patch16_224_pt1k_ft21k.pth')),
    train_cfg=dict(_delete_=True))  # no mixup / cutmix
optim_wrapper = dict(optimizer=dict(lr=7e-5), paramwise_cfg=dict(layer_decay_rate=0.8))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='beitmm.CosineAnnealingLR', by_epoch=True, begin=5, end=20, min_lr=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=20)
