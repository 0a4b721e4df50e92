# VQ-KD training data (unilm beit2 build_vqkd_dataset): random resized crop 224 (scale 0.08-1, bicubic), flip,
# no colour jitter. No labels are read: any folder of images works (beitmm.UnlabeledImageFolder).
data_root = 'data/imagenet'
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='beitmm.UnlabeledImageFolder', data_root=data_root, data_prefix=dict(img_path='train'),
                 pipeline=train_pipeline))
