# BEiT pretraining data (unilm beit/datasets.py DataAugmentationForBEiT): colour jitter 0.4, flip, one random
# resized crop giving a 224 px bicubic student view and a 112 px Lanczos view for the DALL-E tokenizer
# (8x downsampling -> 14x14 tokens aligned with the 16 px patches), up to 75 of 196 patches masked blockwise with
# unilm v1's law (beit/masking_generator.py stops when a block adds nothing: 33% of masks have fewer than 75).
# No labels are read: any folder of images works (beitmm.UnlabeledImageFolder; or give ann_file='meta/train.txt').
data_root = 'data/imagenet'
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='beitmm.TwoViewRandomResizedCrop', size=224, second_size=112, scale=(0.08, 1.0),
         interpolation='bicubic', second_interpolation='lanczos', backend='pillow'),  # PIL antialiases like unilm
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=14, num_masking_patches=75, min_num_patches=16,
         max_num_patches=None, min_aspect=0.3, exact=False),
    dict(type='beitmm.PackMIMInputs'),
]
train_dataloader = dict(
    batch_size=256,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='beitmm.UnlabeledImageFolder', data_root=data_root, data_prefix=dict(img_path='train'),
                 pipeline=train_pipeline))
