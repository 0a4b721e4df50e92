# BEiT-B pretraining on ImageNet-1k, 800 epochs, 8 GPUs x 256 (unilm beit/README.md recipe). Fine-tune the
# result with beit-b_in1k.py (paper: 83.2 top-1) or upernet_beit-b_512_ade20k.py (paper: 45.6 mIoU): the
# checkpoint's backbone loads directly (shared relative position bias expanded per layer and resized).
# Use --amp for bf16 (or fp16 where bf16 is not supported) mixed precision.
_base_ = [
    '../_base_/models/beit_pretrain.py', '../_base_/datasets/imagenet_bs256_beit_pretrain.py',
    '../_base_/schedules/beit_pretrain_adamw_800e.py', '../_base_/default_runtime.py'
]
default_scope = 'beitmm'
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=20, max_keep_ckpts=3))
log_processor = dict(by_epoch=True, window_size=100)
