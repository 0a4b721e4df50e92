# BEiT v2-B intermediate fine-tuning on ImageNet-21k (unilm beit2/get_started_for_image_classification.md "Intermediate
# fine-tuning BEiT v2 on ImageNet-21k": 32 GPUs x 128 = 4096, lr 6e-4, 90 epochs / 20 warm-up, layer decay 0.75, drop
# path 0.1, weight decay 0.05, mixup 0.8 / cutmix 1.0, ImageNet mean / std, --nb_classes 21841, no evaluation), from
# the 1600-epoch IN-1k pretraining (beitv2_base_patch16_224_pt1k.pth, or your beitv2-b_pretrain-1600e_in1k.py
# checkpoint). unilm released its result as beitv2_base_patch16_224_pt1k_ft21k.pth (beitv2-b_ft21k_in1k.py starts
# from it); no accuracy is published for the 21k stage itself.
# Data: ImageNet-21k is the fall11 ImageNet-22k release (21,841 classes): the same folder as configs/beit/
# beit-b_in22k.py, <data_root>/<wnid>/<image>, labelled by the sorted wnid folders; no validation or test set.
_base_ = ['../beit/beit-b_in22k.py']
model = dict(
    backbone=dict(
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beitv2_base_patch16_224_pt1k.pth')),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))
data_preprocessor = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])  # ImageNet mean / std
train_dataloader = dict(batch_size=128)  # total batch 4096 on 32 GPUs
optim_wrapper = dict(_delete_=True, type='OptimWrapper',  # no gradient clipping (unilm's --clip_grad default None)
                     optimizer=dict(type='AdamW', lr=6e-4, betas=(0.9, 0.999), weight_decay=0.05),
                     constructor='beitmm.LayerDecayOptimWrapperConstructor',
                     paramwise_cfg=dict(layer_decay_rate=0.75, no_decay_names=('pos_embed', 'cls_token')))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=20, convert_to_iter_based=True),
    dict(type='beitmm.CosineAnnealingLR', by_epoch=True, begin=20, end=90, min_lr=1e-6,
         convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=4096)
