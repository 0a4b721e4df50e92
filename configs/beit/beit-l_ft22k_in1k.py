# BEiT-L fine-tuned on ImageNet-1k from beit_large_patch16_224_pt22k_ft22k.pth (unilm: lr 2e-5, total batch 512 as
# 8 GPUs x 32 x 2 accumulation steps, 30 epochs / 5 warm-up, layer decay 0.9, drop path 0.4, weight decay 1e-8, no
# mixup / cutmix). Official: 87.4 top-1 / 98.3 top-5 (beit_large_patch16_224_pt22k_ft22kto1k.pth; its evaluation:
# Acc@1 87.396). This config runs 8 x 64 without accumulation (the same total batch); for 16 GB GPUs set
# train_dataloader.batch_size=32 and optim_wrapper.accumulative_counts=2 (auto_scale_lr counts GPUs x batch only).
_base_ = ['./beit-b_ft22k_in1k.py']
model = dict(  # the head's width follows the backbone's
    backbone=dict(
        arch='large',
        drop_path_rate=0.4,
        layer_scale_init_value=1e-5,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit_large_patch16_224_pt22k_ft22k.pth')))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9))
