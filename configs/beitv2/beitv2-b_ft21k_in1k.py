# BEiT v2-B fine-tuned on ImageNet-1k from the IN-1k pretraining + IN-21k intermediate fine-tuning, unilm's
# recommended path (beit2/get_started_for_image_classification.md: 8 GPUs x 128 = 1024, lr 5e-5, 30 epochs / 20
# warm-up, layer decay 0.75, drop path 0.1, weight decay 0.05, mixup 0 / cutmix 0, ImageNet mean / std, from
# beitv2_base_patch16_224_pt1k_ft21k.pth). Official: 86.5 top-1 / 98.0 top-5 (beitv2_base_patch16_224_pt1k_ft21kto1k
# .pth; its evaluation: Acc@1 86.458). The 21841-way head of the file is dropped (a new 1000-way head).
_base_ = ['./beitv2-b_in1k.py']
model = dict(
    backbone=dict(
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beitv2_base_patch16_224_pt1k_ft21k.pth')),
    train_cfg=dict(_delete_=True))  # no mixup / cutmix
optim_wrapper = dict(optimizer=dict(lr=5e-5), paramwise_cfg=dict(layer_decay_rate=0.75))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=20, convert_to_iter_based=True),
    dict(type='beitmm.CosineAnnealingLR', by_epoch=True, begin=20, end=30, min_lr=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=30)
