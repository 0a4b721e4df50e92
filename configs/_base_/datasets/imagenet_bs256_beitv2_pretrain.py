# BEiT v2 pretraining data (unilm beit2/datasets.py DataAugmentationForBEiT): the BEiT pretraining loader with
# colour jitter 0.4, flip, one random resized crop (scale 0.2-1) giving the 224 px student view and a second
# 224 px bicubic view for the VQ-KD tokenizer; exactly 75 of 196 patches masked blockwise (min block 16).
_base_ = ['./imagenet_bs256_beit_pretrain.py']
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='beitmm.TwoViewRandomResizedCrop', size=224, second_size=224, scale=(0.2, 1.0),
         interpolation='bicubic', second_interpolation='bicubic', backend='pillow'),
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=14, num_masking_patches=75, min_num_patches=16,
         max_num_patches=None, min_aspect=0.3, exact=True),  # beit2/masking_generator.py: exactly 75
    dict(type='beitmm.PackMIMInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
