# COCO image-text retrieval on the Karpathy split (dataset_coco.json; train = train + restval, 5k test), 384 px
# (BEiT-3 / VLMo recipe). Training: RandomResizedCrop (0.5, 1) + flip, no RandAugment (BEiT-3: unilm's retrieval
# commands do not pass --randaug, get_started_for_retrieval.md:66-121; VLMo's retrieval adds RandomAugment(2, 7):
# a VLMo config adds vl_common.py's train_pipeline_randaug to its own pipeline). Evaluation encodes every image and
# every caption once in mmpretrain's retrieval loops.
_base_ = ['./vl_common.py']
dataset_type = 'beitmm.KarpathyRetrieval'
data_root = 'data/coco'
ann_file = 'dataset_coco.json'
img_size = 384
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.5, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=['text', 'is_matched'], meta_keys=['image_id']),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size), backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs', algorithm_keys=['text', 'gt_text_id', 'gt_image_id'], meta_keys=['image_id']),
]
train_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True, pin_memory=True, collate_fn=dict(type='default_collate'),
    drop_last=True,  # every rank gathers the same number of features for the contrastive loss
    sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=8, persistent_workers=True, pin_memory=True, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file, split='val', test_mode=True,
                 pipeline=test_pipeline))
val_evaluator = dict(type='beitmm.RetrievalRecallMean', topk=(1, 5, 10))
test_dataloader = dict(
    batch_size=64, num_workers=8, persistent_workers=True, pin_memory=True, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file, split='test', test_mode=True,
                 pipeline=test_pipeline))
test_evaluator = val_evaluator
val_cfg = dict(type='RetrievalValLoop')
test_cfg = dict(type='RetrievalTestLoop')
