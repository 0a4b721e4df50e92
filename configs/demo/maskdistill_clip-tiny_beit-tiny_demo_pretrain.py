# Demo: MaskDistill pretraining of a tiny BEiT (96-d, 4 blocks, 8 px patches, 64 px images) on the generated demo
# images (data/demo/imagenet/train, labels unused), sized for 2 CPU cores. Same config family as
# configs/maskdistill/maskdistill_clip-b16_vit-b_300e_in1k.py. The teacher is a tiny CLIP ViT with random weights
# unless a checkpoint is given (any beitmm checkpoint works as teacher too, see maskdistill_beit-b_vit-b_*.py):
#   --cfg-options model.target_generator.teacher.checkpoint=PATH
# Fine-tune the result with configs/demo/beit-tiny_demo-maskdistill-pt_cls.py.
_base_ = ['../maskdistill/maskdistill_clip-b16_vit-b_300e_in1k.py']
arch = dict(_delete_=True, embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)
teacher_arch = dict(_delete_=True, embed_dims=64, num_layers=2, num_heads=2, output_dims=64)
model = dict(
    backbone=dict(arch=arch, img_size=64, patch_size=8, drop_path_rate=0.05),
    head=dict(in_channels=96, out_channels=64),
    target_generator=dict(
        teacher=dict(arch=teacher_arch, patch_size=8, img_size=64, checkpoint=None), student_patch_size=8))
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='beitmm.TwoViewRandomResizedCrop', size=64, second_size=64, scale=(0.4, 1.0),
         interpolation='bicubic', second_interpolation='bicubic', backend='pillow'),
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=8, num_masking_patches=26, min_num_patches=4,
         max_num_patches=None, min_aspect=0.3),  # 40% of 8x8
    dict(type='beitmm.PackMIMInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True, pin_memory=False,
    dataset=dict(data_root='data/demo/imagenet', data_prefix=dict(img_path='train'), pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=10, eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10)
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=1))
log_processor = dict(window_size=10)
