# Demo: a tiny BEiT-3 fine-tuned for captioning on the generated Karpathy-layout captions
# (data/demo/vl/coco/dataset_coco.json), from scratch. Same model, masks, loss, beam search and metric as
# configs/beit3/beit3-b_coco-captioning.py; no flip / RandAugment (captions name sides and colours): demo choices.
_base_ = ['../beit3/beit3-b_coco-captioning.py', '../_base_/models/beit3-tiny_vl_demo.py']
data_root = 'data/demo/vl/coco'
img_size = 64
model = dict(
    max_text_len=24,
    test_max_text_len=24,  # demo choice: short generated captions, decoded as in validation
    backbone={{_base_.demo_backbone}},
    tokenizer={{_base_.demo_tokenizer}})
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.8, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs', algorithm_keys=['gt_caption'], meta_keys=['image_id']),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='PackInputs', algorithm_keys=['gt_caption'], meta_keys=['image_id']),
]
loader = dict(num_workers=1, persistent_workers=True, pin_memory=False)
train_dataloader = dict(batch_size=64, **loader, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=50, **loader, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='beitmm.CaptionMetric', scorers=('Bleu', 'METEOR', 'ROUGE_L', 'CIDEr'))  # no SPICE jars
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=5e-4, weight_decay=0.05), paramwise_cfg=dict(layer_decay_rate=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=10, eta_min=1e-6, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10, val_interval=10)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=1, save_best=None))
