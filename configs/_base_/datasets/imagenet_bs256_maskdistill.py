# MaskDistill pretraining data: the BEiT pretraining loader with one random resized crop (BEiT v2 style, scale
# (0.2, 1)) and a flip giving the student view and an identical teacher view (224 px both; the data preprocessor
# normalises each for its network); 40% of the 14x14 patches (75 of 196) masked blockwise. No colour jitter is a
# CHOICE (unverified against the paper; BEiT v2's pipeline and the public port use ColorJitter 0.4, see
# configs/maskdistill/maskdistill_clip-b16-768d_vit-b_300e_in1k.py).
# Labels are never read: any folder of images works.
_base_ = ['./imagenet_bs256_beit_pretrain.py']
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='beitmm.TwoViewRandomResizedCrop', size=224, second_size=224, scale=(0.2, 1.0),
         interpolation='bicubic', second_interpolation='bicubic', backend='pillow'),
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=14, num_masking_patches=75, min_num_patches=16,
         max_num_patches=None, min_aspect=0.3, exact=True),  # beit2/masking_generator.py: exactly 75
    dict(type='beitmm.PackMIMInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
