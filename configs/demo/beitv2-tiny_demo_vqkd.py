# Demo step 1/4 of the BEiT v2 chain: train a tiny VQ-KD tokenizer (64-d 2-block encoder, 1-block decoder,
# 64 codes of 32 dims, 8 px patches on 64 px images) on the generated unlabeled images (data/demo/unlabeled),
# sized for 2 CPU cores. Same config family as configs/beitv2/vqkd_clip-b16_vit-b_in1k.py. The teacher is a tiny CLIP
# ViT with random (seeded) weights, as CLIP weights cannot be downloaded here; any checkpoint works:
#   --cfg-options model.teacher.checkpoint=PATH
# The log prints codebook usage / perplexity / dead-code restarts every epoch.
# Next: configs/demo/beitv2-tiny_demo_pretrain.py (uses work_dirs/beitv2-tiny_demo_vqkd/epoch_10.pth as is).
_base_ = ['../beitv2/vqkd_clip-b16_vit-b_in1k.py']
enc_arch = dict(_delete_=True, embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=256)
model = dict(
    encoder=dict(arch=enc_arch, img_size=64, patch_size=8),
    decoder=dict(arch=dict(embed_dims=64, num_layers=1, num_heads=2, feedforward_channels=256), img_size=8),
    teacher=dict(arch=dict(_delete_=True, embed_dims=64, num_layers=2, num_heads=2, output_dims=64), patch_size=8,
                 img_size=64, checkpoint=None),
    teacher_dim=64,
    num_codes=64,
    code_dim=32)
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='mmpretrain.RandomResizedCrop', scale=64, crop_ratio_range=(0.3, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True, pin_memory=False,
    dataset=dict(data_root='data/demo/unlabeled', data_prefix=dict(img_path=''), pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1, end=10, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10)
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=10, max_keep_ckpts=1))
log_processor = dict(window_size=5)
