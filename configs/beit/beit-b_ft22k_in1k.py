# BEiT-B fine-tuned on ImageNet-1k from the IN-22k self-supervised + IN-22k intermediate fine-tuned weights, unilm's
# recommended path (beit/get_started_for_image_classification.md: 8 GPUs x 64, lr 2e-5, 30 epochs / 5 warm-up, layer
# decay 0.85, drop path 0.1, weight decay 1e-8; no mixup / cutmix: run_class_finetuning.py's defaults are 0;
# RandAugment rand-m9-mstd0.5-inc1, label smoothing 0.1, random erasing 0.25, mean pooling, 0.5 / 0.5 normalisation
# as its defaults). Official: 85.2 top-1 / 97.6 top-5 (beit_base_patch16_224_pt22k_ft22kto1k.pth, beit/README.md).
# The 21841-way head of the file is dropped (a new 1000-way head, as unilm does on a shape mismatch).
_base_ = ['./beit-b_in1k.py']
model = dict(
    backbone=dict(
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit_base_patch16_224_pt22k_ft22k.pth')),
    train_cfg=dict(_delete_=True))  # no mixup / cutmix
train_dataloader = dict(batch_size=64)  # total batch 512 on 8 GPUs
optim_wrapper = dict(optimizer=dict(lr=2e-5, weight_decay=1e-8), paramwise_cfg=dict(layer_decay_rate=0.85))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='beitmm.CosineAnnealingLR', by_epoch=True, begin=5, end=30, min_lr=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=30)
auto_scale_lr = dict(base_batch_size=512)
