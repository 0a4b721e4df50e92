# MaskDistill: ViT-B/16 student, frozen CLIP ViT-B/16 teacher, ImageNet-1k, 300 epochs, 8 GPUs x 256 = 2048.
# Paper: 85.3 top-1 after fine-tuning (vit-b_maskdistill-pt_in1k.py), 53.8 mIoU on ADE20K
# (upernet_vit-b_maskdistill-pt-512_ade20k.py); both load this checkpoint's backbone directly.
# Use --amp for bf16 (fp16 where bf16 is unsupported) mixed precision.
_base_ = [
    '../_base_/models/maskdistill_vit-b.py', '../_base_/datasets/imagenet_bs256_maskdistill.py',
    '../_base_/schedules/maskdistill_adamw_300e.py', '../_base_/default_runtime.py'
]
default_scope = 'beitmm'
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=20, max_keep_ckpts=3))
log_processor = dict(by_epoch=True, window_size=100)
