# BEiT-3 base fine-tuned on NLVR2 (unilm beit3/get_started/get_started_for_nlvr2.md): 224 px, 20 epochs (5 warm-up),
# AdamW lr 7e-4 (5e-4 from -indomain), weight decay 0.2, layer decay 0.65, drop path 0.2, total batch 256 (8 x 32),
# no RandAugment, cross-entropy over (False, True), final LayerNorm applied (unilm's NLVR2 builders keep
# normalize_output=True: modeling_finetune.py:293-304, modeling_utils.py:27; the released heads read the normed
# cls tokens). Reported: 83.6 dev / 84.4 test-P (84.6 / 85.3 from -indomain).
_base_ = [
    '../_base_/models/beit3-b_vl.py', '../_base_/datasets/nlvr2.py',
    '../_base_/schedules/vl_finetune_adamw_cosine.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
model = dict(
    type='beitmm.NLVR2Classifier',
    max_text_len=64,
    backbone=dict(img_size=224, normalize_output=True, drop_path_rate=0.2))
optim_wrapper = dict(optimizer=dict(lr=7e-4, weight_decay=0.2), paramwise_cfg=dict(layer_decay_rate=0.65))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='beitmm.CosineAnnealingLR', by_epoch=True, begin=5, end=20, min_lr=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=20)
default_hooks = dict(checkpoint=dict(save_best='accuracy/top1', rule='greater'))
auto_scale_lr = dict(enable=False, base_batch_size=256)
