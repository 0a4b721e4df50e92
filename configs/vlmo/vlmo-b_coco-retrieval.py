# VLMo base fine-tuned for COCO retrieval (vlmo/config.py task_finetune_irtr_coco_base_image384): a dual encoder on
# the V-FFN / L-FFN paths, 384 px, total batch 3072, 3000 iterations (300 warm-up) then linear decay to 0, AdamW
# lr 3e-5, drop path 0.2. Optional re-ranking of each query's top-32 with the fusion encoder's ITM head
# (get_recall_rerank_metric, k_test=32): model.rerank_topk=32, which needs the ITM head of the pretrained
# checkpoint (or itm_loss_weight > 0 to train one). Reported (5k test): TR@1 74.8, IR@1 57.2.
_base_ = [
    '../_base_/models/vlmo-b_vl.py', '../_base_/datasets/coco_retrieval.py',
    '../_base_/schedules/vlmo_finetune_adamw_linear.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
model = dict(type='beitmm.DualEncoderRetriever', backbone=dict(img_size=384, drop_path_rate=0.2), rerank_topk=0)
train_dataloader = dict(batch_size=192)  # 16 GPUs x 192 = 3072
optim_wrapper = dict(optimizer=dict(lr=3e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=300),
    dict(type='PolyLR', power=1.0, eta_min=0., by_epoch=False, begin=300, end=3000),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=3000, val_interval=500)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=500, save_best='t2i/r_mean', rule='greater'))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=3072)
