# Train the BEiT v2 VQ-KD tokenizer on ImageNet-1k with a CLIP ViT-B/16 teacher, 8 GPUs x 64, 100 epochs
# (unilm beit2/TOKENIZER.md). Released tokenizers: 1-layer decoder 100% codebook usage, 3-layer 97%.
# Every epoch the log shows codebook usage / perplexity / dead-code restarts (beitmm.CodebookHealthHook).
# The resulting checkpoint is the target generator of beitv2-b_pretrain_in1k.py as is (no conversion).
# Use --amp for mixed precision (the quantizer always runs in fp32).
_base_ = [
    '../_base_/models/vqkd_b16_clip.py', '../_base_/datasets/imagenet_bs64_vqkd.py',
    '../_base_/schedules/vqkd_adamw_100e.py', '../_base_/default_runtime.py'
]
default_scope = 'beitmm'
custom_hooks = [dict(type='beitmm.CodebookHealthHook', warn_below=0.5)]
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=20, max_keep_ckpts=3))
log_processor = dict(by_epoch=True, window_size=100)
