# Demo: BEiT-3 masked data modeling of the tiny BEiT-3 of the VL demos (4 layers, width 96, patch 8 at 64 px) on
# generated scenes, captions and texts (data/demo/vl_pretrain, written by beitmm.testing.synthetic_pretrain: the
# scenes and captions of the VL demo, never its fine-tuning images). Same algorithm, streams and masking ratios as
# configs/beit3/beit3-b_pretrain_vl-corpus.py (from the paper; no official code exists), sized for 2 CPU cores.
# Demo choices:
# the visual tokens come from a k-means vocabulary of 8x8 patches (tools/misc/fit_kmeans_tokenizer.py, fitted in
# seconds; a VQ-KD needs a CLIP teacher, which cannot be downloaded here), 16 + 16 + 16 samples per step.
# `python tools/demo.py --task vl-pretrain` runs it, then fine-tunes VQA and retrieval from it and from scratch.
_base_ = ['../beit3/beit3-b_pretrain_vl-corpus.py', '../_base_/models/beit3-tiny_vl_demo.py']
data_root = 'data/demo/vl_pretrain'
img_size = 64
model = dict(
    data_preprocessor=dict(target_mean=[0.] * 3, target_std=[255.] * 3),  # the k-means view in [0, 1]
    backbone={{_base_.demo_backbone}},
    target_generator=dict(_delete_=True, type='beitmm.KMeansTokenizer', patch_size=8, vocab_size=256, pool=4,
                          checkpoint='data/demo/vl_pretrain/kmeans_256.pth'),
    mim_head=dict(in_channels=96, out_channels=256))
text_tokenizer = dict(type='beitmm.SentencePieceTokenizer', model_file='data/demo/vl/demo.spm')
image_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='mmpretrain.RandomResizedCrop', scale=img_size, crop_ratio_range=(0.5, 1.0), interpolation='bicubic',
         backend='pillow'),
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=8, num_masking_patches=26, min_num_patches=4,
         exact=True),  # 40% of the 8 x 8 grid
    dict(type='beitmm.PackPretrainInputs'),
]
text_pipeline = [
    dict(type='beitmm.MaskText', tokenizer=text_tokenizer, max_len=24, mask_ratio=0.15),
    dict(type='beitmm.PackPretrainInputs'),
]
pair_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='mmpretrain.RandomResizedCrop', scale=img_size, crop_ratio_range=(0.8, 1.0), interpolation='bicubic',
         backend='pillow'),  # no flip: captions say left / right
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=8, num_masking_patches=26, min_num_patches=4, exact=True),
    dict(type='beitmm.MaskText', tokenizer=text_tokenizer, max_len=24, mask_ratio=0.5),
    dict(type='beitmm.PackPretrainInputs'),
]
train_dataloader = dict(
    num_workers=1,
    dataset=dict(
        counts=dict(image=16, text=16, pair=16),
        sources=dict(image=dict(data_root=data_root, pipeline=image_pipeline),
                     text=dict(data_root=data_root, pipeline=text_pipeline),
                     pair=dict(data_root=data_root, pipeline=pair_pipeline))))
optim_wrapper = dict(_delete_=True, type='OptimWrapper', clip_grad=dict(max_norm=3.0),
                     optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.05),
                     paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0., flat_decay_mult=0.))
max_iters = 600
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters, eta_min=1e-5),
]
train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
custom_hooks = [dict(type='beitmm.CheckpointConvertHook')]  # no codebook to watch: k-means targets
log_processor = dict(window_size=20)
