# BEiT-L intermediate fine-tuning on ImageNet-22k (unilm beit/README.md: 16 GPUs x 64 x 2 accumulation steps = 2048,
# lr 2e-3, 90 epochs / 5 warm-up, layer decay 0.75, drop path 0.2, weight decay 0.05, gradient clip 1.0, layer scale
# 1e-5, from beit_large_patch16_224_pt22k.pth). Its released result is beit_large_patch16_224_pt22k_ft22k.pth
# (beit-l_ft22k_in1k.py and the 384 / 512 configs start from it). This config runs 16 x 128 without accumulation.
_base_ = ['./beit-b_in22k.py']
model = dict(  # the head's width follows the backbone's
    backbone=dict(
        arch='large',
        layer_scale_init_value=1e-5,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit_large_patch16_224_pt22k.pth')))
train_dataloader = dict(batch_size=128)  # total batch 2048 on 16 GPUs
optim_wrapper = dict(optimizer=dict(lr=2e-3), clip_grad=dict(max_norm=1.0), paramwise_cfg=dict(layer_decay_rate=0.75))
auto_scale_lr = dict(base_batch_size=2048)
