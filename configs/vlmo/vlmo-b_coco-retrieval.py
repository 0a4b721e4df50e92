# VLMo base fine-tuned for COCO retrieval (vlmo/config.py task_finetune_irtr_coco_base_image384): a dual encoder on
# the V-FFN / L-FFN paths, 384 px, total batch 3072, 3000 iterations (300 warm-up) then linear decay to 0, AdamW
# lr 3e-5, drop path 0.2; starts from the pretrained ITC projections and logit_scale (pretrained_heads, see
# ../_base_/models/vlmo-b_vl.py). Contrastive loss as VLMo's compute_irtr (objectives.py:311-348): features gathered
# from the ranks without gradient (gather_grad=False). Evaluated as VLMo's compute_irtr_recall (dual encoder).
# Reported (5k test): TR@1 74.8, IR@1 57.2.
# rerank_topk > 0 is beitmm's own protocol, not VLMo's: each query's top-k re-scored by the fusion encoder's ITM
# log-probability (needs an ITM head: the pretrained file's itm_score, or itm_loss_weight > 0 to train one). VLMo's
# compute_irtr_recall_with_rerank is never called (vlmo_utils.py:111-118) and get_recall_rerank_metric is read
# nowhere, so no VLMo number exists for it.
_base_ = [
    '../_base_/models/vlmo-b_vl.py', '../_base_/datasets/coco_retrieval.py',
    '../_base_/schedules/vlmo_finetune_adamw_linear.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
img_size = 384
model = dict(type='beitmm.DualEncoderRetriever', backbone=dict(img_size=img_size, drop_path_rate=0.2), rerank_topk=0,
             gather_grad=False)
# VLMo's square_transform_randaug (vlmo/transforms/square_transform.py:21-31): RandomResizedCrop (0.5, 1) bicubic,
# horizontal flip, RandomAugment(2, 7) over BLIP's 10 ops (vlmo/transforms/randaugment.py, the same file as unilm
# beit3/randaug.py: VLMo shares BEiT-3's train_pipeline_randaug entry); evaluation: a bicubic resize (square_transform)
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.5, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    {{_base_.train_pipeline_randaug}},
    dict(type='PackInputs', algorithm_keys=['text', 'is_matched'], meta_keys=['image_id']),
]
train_dataloader = dict(batch_size=192, dataset=dict(pipeline=train_pipeline))  # 16 GPUs x 192 = 3072
optim_wrapper = dict(optimizer=dict(lr=3e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=300),
    dict(type='PolyLR', power=1.0, eta_min=0., by_epoch=False, begin=300, end=3000),
]
train_cfg = dict(_delete_=True, type='beitmm.ResumableIterBasedTrainLoop', max_iters=3000, val_interval=500)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=500, save_best='t2i/r_mean', rule='greater'))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=3072)
