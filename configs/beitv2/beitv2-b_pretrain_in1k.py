# BEiT v2-B pretraining on ImageNet-1k, 300 epochs (betas (0.9, 0.98), drop path 0), 8 GPUs x 256
# (unilm: 16 x 128). Targets: VQ-KD tokens (official CLIP tokenizer or your vqkd_clip-b16_vit-b_in1k.py checkpoint:
# --cfg-options model.target_generator.checkpoint=work_dirs/vqkd_clip-b16_vit-b_in1k/epoch_100.pth).
# Fine-tune with beitv2-b_in1k.py (paper: 85.0 top-1 for 300 epochs) or upernet_beitv2-b_ade20k.py;
# the CLS-pretraining branch (neck.*) and the LM head are dropped at load time.
_base_ = [
    '../_base_/models/beitv2_pretrain.py', '../_base_/datasets/imagenet_bs256_beitv2_pretrain.py',
    '../_base_/schedules/beitv2_pretrain_adamw_300e.py', '../_base_/default_runtime.py'
]
default_scope = 'beitmm'
model = dict(backbone=dict(drop_path_rate=0.), neck=dict(drop_path_rate=0.))
# the frozen tokenizer's token usage (how many of the 8192 codes occur as targets) is logged every epoch
custom_hooks = [dict(type='beitmm.CheckpointConvertHook'), dict(type='beitmm.CodebookHealthHook', warn_below=0.2)]
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=20, max_keep_ckpts=3))
log_processor = dict(by_epoch=True, window_size=100)
