# Demo: CIM-ResPix with tiny networks on the generated shapes dataset (data/demo/imagenet/train, labels unused),
# sized for 2 CPU cores. The enhancer has the shape of configs/demo/beit-tiny_demo_cls.py (96-d, 4 blocks,
# 8 px patches at 64 px), so its checkpoint initialises that classifier (beit-tiny_demo-cim-pt_cls.py).
# No DALL-E weights ship with beitmm: the demo dVAE is a small random one (a fixed random tokenizer and decoder),
# so the run shows the mechanics (sampling, decoding, both losses, handoff), not the paper's corruption.
# Real runs: configs/cim/cim-respix_vit-b_300e_in1k.py with pretrain/dall_e/{encoder,decoder}.pkl.
_base_ = ['../cim/cim-respix_vit-b_300e_in1k.py']
size, patch = 64, 8
model = dict(
    generator=dict(arch=dict(_delete_=True, embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=128),
                   img_size=size, patch_size=patch),
    generator_head=dict(in_channels=32, out_channels=512),
    save_tokenizer=True,  # the random demo dVAE exists nowhere else: keep it with the checkpoint
    tokenizer=dict(_delete_=True, type='beitmm.DALLETokenizer', with_decoder=True, n_hid=16, n_blk_per_group=1,
                   vocab_size=512, n_init=16),
    backbone=dict(arch=dict(_delete_=True, embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384),
                  img_size=size, patch_size=patch, drop_path_rate=0.05),
    head=dict(in_channels=96, encoder_stride=patch, window_size=5))
data_root = 'data/demo/imagenet'
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='beitmm.TwoViewRandomResizedCrop', size=size, second_size=size, scale=(0.5, 1.0),
         interpolation='bicubic', second_interpolation='lanczos', backend='pillow'),  # 8x8 tokens of 8 px
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=size // patch, num_masking_patches=24, min_num_patches=4,
         max_num_patches=None, min_aspect=0.3),
    dict(type='beitmm.PackMIMInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True, pin_memory=False,
    dataset=dict(data_root=data_root, data_prefix=dict(img_path='train'), pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1, end=4, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=4)
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=4, max_keep_ckpts=1))
log_processor = dict(window_size=10)
