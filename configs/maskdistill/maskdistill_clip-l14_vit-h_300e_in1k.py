# MaskDistill ViT-H/14 (1280-d, 32 blocks, 16 heads) with a frozen CLIP ViT-L/14 teacher: at 224 px both have a
# 16x16 patch grid, so 40% masking is 102 of 256 patches. Paper: 88.3 top-1 (224 px), 58.8 mIoU (ADE20K, 512 px).
_base_ = ['./maskdistill_clip-b16_vit-b_300e_in1k.py']
huge = dict(_delete_=True, embed_dims=1280, num_layers=32, num_heads=16, feedforward_channels=5120)
model = dict(
    backbone=dict(arch=huge, patch_size=14, layer_scale_init_value=1e-5),
    head=dict(out_channels=768),  # in_channels follows the backbone
    target_generator=dict(
        teacher=dict(arch='large', patch_size=14, img_size=224, checkpoint='pretrain/clip/ViT-L-14.pt'),
        student_patch_size=14))
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='beitmm.TwoViewRandomResizedCrop', size=224, second_size=224, scale=(0.2, 1.0),
         interpolation='bicubic', second_interpolation='bicubic', backend='pillow'),
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=16, num_masking_patches=102, min_num_patches=16,
         max_num_patches=None, min_aspect=0.3, exact=True),
    dict(type='beitmm.PackMIMInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
