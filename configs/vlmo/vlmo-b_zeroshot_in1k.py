# Zero-shot ImageNet-1k with a VLMo base retrieval model (as configs/beit3/beit3-b_zeroshot_in1k.py): class prompts
# (OpenAI's 80 templates x the 1000 names) through the V-FFN / L-FFN dual encoder and its ITC projections
# (itc_{image,text}_proj), beitmm.ZeroShotClassifier. Evaluate a released checkpoint (no training):
#   python tools/test.py configs/vlmo/vlmo-b_zeroshot_in1k.py pretrain/vlmo_base_patch16_384_coco.pt
# (VLMo-B fine-tuned on COCO retrieval, 384 px). The stage-3 pretrained vlmo_base_patch16_224.pt holds the ITC
# projections too and loads here as well (its position table resized to 384 on load).
# No VLMo zero-shot ImageNet number is published. This config only evaluates (train with the retrieval config).
_base_ = ['./vlmo-b_coco-retrieval.py']
img_size = 384
data_root = 'data/imagenet'
model = dict(
    type='beitmm.ZeroShotClassifier',
    class_names='imagenet',
    templates='openai_imagenet',
    text_batch_size=256,
    backbone=dict(img_size=img_size, drop_path_rate=0., init_cfg=None))
# short side to img_size, centre crop (crop_pct 1.0; beitmm's choice for zero-shot)
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='ResizeEdge', scale=img_size, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackInputs'),
]
val_dataloader = dict(
    _delete_=True, batch_size=128, num_workers=8, persistent_workers=True, pin_memory=True,
    collate_fn=dict(type='default_collate'), sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='beitmm.ImageNet', data_root=data_root, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
val_cfg = dict(_delete_=True)
test_cfg = dict(_delete_=True)
