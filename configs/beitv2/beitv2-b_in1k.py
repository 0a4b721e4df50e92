# BEiT v2-B fine-tuning on ImageNet-1k from the 300-epoch pretraining (unilm beit2 recipe: lr 5e-4 @ 1024,
# 100 epochs / 20 warm-up, layer decay 0.65, drop path 0.1, mixup 0.8 / cutmix 1.0, ImageNet mean / std).
# Paper: 85.0 top-1 (300 epochs), 85.5 with the 1600-epoch model (beitv2-b_1600e-pt_in1k.py).
# The pretraining checkpoint loads as is: backbone.* taken, the CLS branch (neck.*) and LM head dropped,
# the shared relative position bias expanded into every block.
_base_ = ['../beit/beit-b_in1k.py']
model = dict(
    backbone=dict(
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/beitv2-b_pretrain_in1k/epoch_300.pth')))
data_preprocessor = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
optim_wrapper = dict(optimizer=dict(lr=5e-4), paramwise_cfg=dict(layer_decay_rate=0.65))
