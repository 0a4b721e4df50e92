# BEiT-3 base masked data modeling (Wang et al., "Image as a Foreign Language", CVPR 2023; no official code).
# The recipe is FROM THE PAPER; NO OFFICIAL CODE EXISTS (unilm #1032, #1043, #1196, #1591, #1691). Values marked
# [paper, ...] are the paper's (§2.2-2.3, Table 11, read in full); (interpretation) reads the paper where it is not
# explicit; (choice) values are beitmm's.
# One Multiway Transformer (the released layout: it is what the official fine-tuning checkpoints hold), three
# streams per step [paper, §2.2]: images (40% blockwise-masked patches -> VQ-KD code ids), texts (15% of the tokens
# -> their SentencePiece ids) and image-text pairs (50% of the text tokens [paper]; 40% of the patches
# (interpretation)), one loss per stream, summed. Data: configs/_base_/datasets/vl_pretrain_beit3.py (loader, text /
# pair masking, beit3.spm). The checkpoint fine-tunes through configs/beit3/*.py with
# init_cfg=dict(type='Pretrained', checkpoint=...).
_base_ = [
    '../_base_/datasets/vl_pretrain_beit3.py', '../_base_/models/vqkd_b16_clip_tokenizer.py',
    '../_base_/default_runtime.py'
]
model = dict(
    type='beitmm.MaskedDataModeling',
    # BEiT-3's normalisation (mean = std = 0.5) is also VQ-KD's [-1, 1] input: one view serves both
    data_preprocessor=dict(type='beitmm.MultiStreamDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    backbone=dict(
        type='beitmm.BEiT3',
        arch='base',
        img_size=224,
        vocab_size=64010,  # beit3.spm: 64002 pieces in the released 64010-row embedding
        use_mask_token=True,
        out_type='raw',
        normalize_output=True,  # heads read the final per-modality norm (choice)
        drop_path_rate=0.1,  # [paper, Table 11]; no dropout, no relative positions either [paper, §2.3 / Table 11]
        rescale_init=True),  # BEiT initialization: layer l's output projections / sqrt(2 l) [paper, §2.3, fn. 4]
    # shared by images and pairs (choice); in_channels: the backbone's width (beitmm.engine.config_fit)
    mim_head=dict(type='beitmm.MIMHead', in_channels=dict(follows='backbone'), out_channels=8192),
    stream_weights=dict(image=1., text=1., pair=1.))  # plain sum (choice: the paper gives no weights)
# The paper's 2048 images + 2048 texts + 2048 pairs per step [paper, Table 11]: the base's counts, 128 + 128 + 128 per
# rank on 16 GPUs. AdamW (0.9, 0.98), eps 1e-6, peak lr 1e-3, 10k warm-up steps, cosine, weight decay 0.05, gradient
# clip 3.0 [paper, Table 11]; no decay on biases, norms, tokens and position tables (choice, as unilm's fine-tuning).
optim_wrapper = dict(
    type='beitmm.AmpOptimWrapper',
    dtype='float16',  # choice (torchscale trains in fp16; the paper gives no precision)
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0., flat_decay_mult=0.,
                       custom_keys={'.cls_token': dict(decay_mult=0.), '.mask_token': dict(decay_mult=0.),
                                    'embed_positions': dict(decay_mult=0.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=10_000),  # start factor (choice)
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10_000, end=1_000_000, eta_min=1e-5),  # eta_min (choice)
]
train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=1_000_000)  # 1M steps [paper, Table 11]
# the step sampler takes its seed from the runner (no epochs): mmengine's DistSamplerSeedHook does not apply
default_hooks = dict(sampler_seed=None, logger=dict(interval=50),
                     checkpoint=dict(by_epoch=False, interval=10_000, max_keep_ckpts=3))
custom_hooks = [dict(type='beitmm.CheckpointConvertHook'),
                # VQ-KD target usage (codes used as targets, perplexity), reported at the end of the run
                dict(type='beitmm.CodebookHealthHook', warn_below=0.2)]
log_processor = dict(by_epoch=False, window_size=50)
auto_scale_lr = dict(enable=False, base_batch_size=6144)
