# BEiT-3 base fine-tuned for Flickr30K retrieval (unilm get_started_for_retrieval.md): from -itc, 384 px, 20 epochs
# (5 warm-up), lr 1e-4, layer decay 0.65, drop path 0.2, weight decay 0.05, total batch 3072.
# Reported (1k test): TR@1 96.3, IR@1 86.2.
_base_ = [
    '../_base_/models/beit3-b_vl.py', '../_base_/datasets/flickr30k_retrieval.py',
    '../_base_/schedules/vl_finetune_adamw_cosine.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
model = dict(
    type='beitmm.DualEncoderRetriever',
    max_text_len=64,
    backbone=dict(img_size=384, normalize_output=True, drop_path_rate=0.2,
                  init_cfg=dict(checkpoint='pretrain/beit3_base_itc_patch16_224.pth')))
train_dataloader = dict(batch_size=192)
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=0.05), paramwise_cfg=dict(layer_decay_rate=0.65))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='beitmm.CosineAnnealingLR', by_epoch=True, begin=5, end=20, min_lr=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=20)
default_hooks = dict(checkpoint=dict(save_best='t2i/r_mean', rule='greater'))
auto_scale_lr = dict(enable=False, base_batch_size=3072)
