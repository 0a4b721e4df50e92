# Demo: a tiny BEiT-3 fine-tuned on the generated VQAv2-layout data (data/demo/vl/coco: COCO-named scenes, the
# official question / annotation json), from scratch, sized for 2 CPU cores. Same model, head, loss and metric as
# configs/beit3/beit3-b_vqav2.py; no horizontal flip (the questions ask about left / right) and no RandAugment
# (colours are answers): demo choices.
_base_ = ['../beit3/beit3-b_vqav2.py', '../_base_/models/beit3-tiny_vl_demo.py']
data_root = 'data/demo/vl/coco'
img_size = 64
model = dict(
    num_labels=13,  # the demo answer vocabulary (tools/demo.py sets it from vqa/answer2label.txt)
    max_text_len=24,
    backbone={{_base_.demo_backbone}},
    tokenizer={{_base_.demo_tokenizer}})
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.8, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs', algorithm_keys=['question', 'answer_labels', 'answer_scores'],
         meta_keys=['question_id', 'image_id']),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='PackInputs', algorithm_keys=['question', 'gt_answers', 'answer_type'],
         meta_keys=['question_id', 'image_id']),
]
loader = dict(num_workers=1, persistent_workers=True, pin_memory=False)
train_dataloader = dict(batch_size=32, **loader,
                        dataset=dict(data_root=data_root, rest_val_images=50, pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, **loader, dataset=dict(data_root=data_root, rest_val_images=50,
                                                           pipeline=test_pipeline))
test_dataloader = val_dataloader
test_evaluator = dict(_delete_=True, type='beitmm.VQAAccuracy')
optim_wrapper = dict(optimizer=dict(lr=5e-4, weight_decay=0.01),  # no head lr x20 at this lr (demo choice)
                     paramwise_cfg=dict(layer_decay_rate=1.0, custom_keys={'head.': dict(lr_mult=1.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=24, eta_min=1e-6, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=24, val_interval=24)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=24, max_keep_ckpts=1, save_best=None))
