# CIM-ResPix, ViT-B/16 enhancer, ImageNet-1k, 300 epochs, 8 GPUs x 256 (paper: 83.3 top-1 after fine-tuning).
# Data: BEiT's pretraining views (one random resized crop -> 224 px bicubic view for the generator, masked
# blockwise, and 112 px Lanczos view for the DALL-E tokenizer; 14 x 14 tokens aligned with the 16 px patches).
# The corrupted image (dVAE decoding, 112 px) is resized to 224 px for the enhancer.
# Fine-tune the enhancer with vit-b_cim-pt_in1k.py / upernet_vit-b_cim-pt-512_ade20k.py.
_base_ = [
    '../_base_/models/cim_vit-b.py', '../_base_/datasets/imagenet_bs256_beit_pretrain.py',
    '../_base_/schedules/cim_adamw_300e.py', '../_base_/default_runtime.py'
]
default_scope = 'beitmm'
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=20, max_keep_ckpts=3))
log_processor = dict(by_epoch=True, window_size=100)
# Generator mask: BEiT's blockwise masking of 75 of 196 patches (~40%). The paper's generator mask ratio was not
# in the material available to us; this is BEiT's value.
