# VLMo base fine-tuned on NLVR2 (vlmo/config.py task_finetune_nlvr2_base_image384): 384 px, total batch 128,
# 10 epochs with 10% warm-up then linear decay to 0, AdamW lr 5e-5, drop path 0.1, no head lr multiplier; two
# fusion passes with image token types 1 and 2 (token type 2 starts as a copy of 1), the pooler from the pretrained
# file, nlvr2_classifier from its init (../_base_/models/vlmo-b_vl.py). Reported: 83.3 test-P.
_base_ = [
    '../_base_/models/vlmo-b_vl.py', '../_base_/datasets/nlvr2.py',
    '../_base_/schedules/vlmo_finetune_adamw_linear.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
img_size = 384
model = dict(type='beitmm.NLVR2Classifier', backbone=dict(img_size=img_size, drop_path_rate=0.1, num_token_types=3))
train_pipeline = [
    dict(type='beitmm.ApplyToList', scatter_key='img_path', collate_keys=['img', 'scale_factor', 'ori_shape'],
         transforms=[
             dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
             dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.5, 1.0), backend='pillow',
                  interpolation='bicubic'),
             dict(type='RandomFlip', prob=0.5, direction='horizontal'),
             {{_base_.train_pipeline_randaug}},
         ]),
    dict(type='PackInputs', algorithm_keys=['text'], meta_keys=['identifier']),
]
test_pipeline = [
    dict(type='beitmm.ApplyToList', scatter_key='img_path', collate_keys=['img', 'scale_factor', 'ori_shape'],
         transforms=[
             dict(type='beitmm.RobustLoadImageFromFile'),
             dict(type='Resize', scale=(img_size, img_size), backend='pillow', interpolation='bicubic'),
         ]),
    dict(type='PackInputs', algorithm_keys=['text'], meta_keys=['identifier']),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
optim_wrapper = dict(optimizer=dict(lr=5e-5))
train_cfg = dict(max_epochs=10)
default_hooks = dict(checkpoint=dict(save_best='accuracy/top1', rule='greater'))
auto_scale_lr = dict(enable=False, base_batch_size=128)
