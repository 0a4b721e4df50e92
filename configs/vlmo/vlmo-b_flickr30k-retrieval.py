# VLMo base fine-tuned for Flickr30K retrieval (vlmo/config.py:346-362 task_finetune_irtr_f30k_base_image384): the
# COCO recipe (../vlmo/vlmo-b_coco-retrieval.py: dual encoder, 384 px, total batch 3072, lr 3e-5, VLMo's gather and
# augmentation) for 1500 iterations (150 warm-up), drop path 0.15, started from the COCO-fine-tuned weights as the
# VLMo README does (vlmo_base_patch16_384_coco.pt: its ITC projections and logit_scale are loaded too). Karpathy
# split of Flickr30K (dataset_flickr30k.json, images in flickr30k-images/; 1k test). Reported: TR@1 92.3, IR@1 79.3.
_base_ = ['./vlmo-b_coco-retrieval.py']
data_root = 'data/flickr30k'
ann_file = 'dataset_flickr30k.json'
model = dict(backbone=dict(drop_path_rate=0.15, init_cfg=dict(checkpoint='pretrain/vlmo_base_patch16_384_coco.pt')))
train_dataloader = dict(dataset=dict(data_root=data_root, ann_file=ann_file))
val_dataloader = dict(dataset=dict(data_root=data_root, ann_file=ann_file))
test_dataloader = dict(dataset=dict(data_root=data_root, ann_file=ann_file))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=150),
    dict(type='PolyLR', power=1.0, eta_min=0., by_epoch=False, begin=150, end=1500),
]
train_cfg = dict(max_iters=1500, val_interval=500)  # validation every 500 iterations (choice, as the COCO config)
