# NLVR2 in its released layout (lil-lab/nlvr: {train,dev,test1}.json lines, train images in images/train/{directory}/),
# two images per statement; BEiT-3 recipe: 224 px, RandomResizedCrop (0.5, 1) + flip for training, no RandAugment
# (unilm's NLVR2 commands do not pass --randaug: get_started_for_nlvr2.md:45-91, datasets.py:742-754).
# dev is the validation split, test1 (test-P) the test split (lil-lab/nlvr nlvr2/data/).
_base_ = ['./vl_common.py']
dataset_type = 'beitmm.NLVR2'
data_root = 'data/nlvr2'
img_size = 224
train_pipeline = [
    dict(type='beitmm.ApplyToList', scatter_key='img_path', collate_keys=['img', 'scale_factor', 'ori_shape'],
         transforms=[
             dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # skips the whole pair
             dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.5, 1.0), backend='pillow',
                  interpolation='bicubic'),
             dict(type='RandomFlip', prob=0.5, direction='horizontal'),
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
train_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True, pin_memory=True, drop_last=True,
    collate_fn=dict(type='default_collate'),
    sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=8, persistent_workers=True, pin_memory=True, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='dev', pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy')
test_dataloader = dict(
    batch_size=64, num_workers=8, persistent_workers=True, pin_memory=True, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test1', pipeline=test_pipeline))
test_evaluator = val_evaluator
val_cfg = dict()
test_cfg = dict()
