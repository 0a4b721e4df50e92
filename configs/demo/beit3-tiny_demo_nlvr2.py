# Demo: a tiny BEiT-3 fine-tuned on the generated NLVR2-layout data (data/demo/vl/nlvr2). Same model and head as
# configs/beit3/beit3-b_nlvr2.py; no flip / RandAugment (statements name sides and colours): demo choices.
# tools/demo.py --task vl starts it from the demo's VQA fine-tuned checkpoint (load_from; the VQA head is left out),
# as BEiT-3 starts NLVR2 from its in-domain checkpoint.
_base_ = ['../beit3/beit3-b_nlvr2.py', '../_base_/models/beit3-tiny_vl_demo.py']
data_root = 'data/demo/vl/nlvr2'
img_size = 64
model = dict(
    max_text_len=32,  # the statements are longer than the questions
    backbone={{_base_.demo_backbone}},
    tokenizer={{_base_.demo_tokenizer}})
train_pipeline = [
    dict(type='beitmm.ApplyToList', scatter_key='img_path', collate_keys=['img', 'scale_factor', 'ori_shape'],
         transforms=[
             dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
             dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.8, 1.0), backend='pillow',
                  interpolation='bicubic'),
         ]),
    dict(type='PackInputs', algorithm_keys=['text'], meta_keys=['identifier']),
]
test_pipeline = [
    dict(type='beitmm.ApplyToList', scatter_key='img_path', collate_keys=['img', 'scale_factor', 'ori_shape'],
         transforms=[dict(type='beitmm.RobustLoadImageFromFile')]),
    dict(type='PackInputs', algorithm_keys=['text'], meta_keys=['identifier']),
]
loader = dict(num_workers=1, persistent_workers=True, pin_memory=False)
train_dataloader = dict(batch_size=32, **loader, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, **loader, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=3e-4, weight_decay=0.05), paramwise_cfg=dict(layer_decay_rate=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=8, eta_min=1e-6, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=8, val_interval=8)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=8, max_keep_ckpts=1, save_best=None))
