# Demo: BEiT masked image modeling of the tiny BEiT on the generated unlabeled images (data/demo/unlabeled).
# Same algorithm and config family as configs/beit/beit-b_pretrain_in1k.py, sized for 2 CPU cores.
# The official DALL-E dVAE weights cannot be downloaded here, so the visual tokens come from a k-means
# vocabulary of contrast-normalised 8x8 patches fitted on the same images in seconds
# (tools/misc/fit_kmeans_tokenizer.py; `make demo` writes data/demo/kmeans_256.pth). For the paper's
# tokenizer use target_generator=dict(type='beitmm.DALLETokenizer', encoder_checkpoint=...).
_base_ = ['../beit/beit-b_pretrain_in1k.py']
arch = dict(_delete_=True, embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)
model = dict(
    backbone=dict(arch=arch, img_size=64, patch_size=8, drop_path_rate=0.05),
    head=dict(in_channels=96, out_channels=256),
    target_generator=dict(_delete_=True, type='beitmm.KMeansTokenizer', patch_size=8, vocab_size=256, pool=4,
                          checkpoint='data/demo/kmeans_256.pth'))
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # 64 px student (8x8 patches of 8 px) and a 64 px tokenizer view (8 px per token -> 8x8 tokens)
    dict(type='beitmm.TwoViewRandomResizedCrop', size=64, second_size=64, scale=(0.3, 1.0),
         interpolation='bicubic', second_interpolation='lanczos', backend='pillow'),
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=8, num_masking_patches=24, min_num_patches=4),
    dict(type='beitmm.PackMIMInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True, pin_memory=False,
    dataset=dict(data_root='data/demo/unlabeled', data_prefix=dict(img_path=''), pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=1.5e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=2, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=2, end=20, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=20)
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=20, max_keep_ckpts=1))
log_processor = dict(window_size=10)
