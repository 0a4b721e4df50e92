# BEiT-B pretraining on ImageNet-22k, 150 epochs, 10k warm-up steps (unilm). Point data_root at an
# ImageNet-22k folder tree (14,197,122 images); the schedule is in iterations of a total batch of 2048.
_base_ = ['./beit-b_pretrain_in1k.py']
data_root = 'data/imagenet22k'
train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix=dict(img_path='')))
iters_per_epoch = 14197122 // 2048
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0, end=10000),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=10000, end=150 * iters_per_epoch),
]
train_cfg = dict(max_epochs=150)
