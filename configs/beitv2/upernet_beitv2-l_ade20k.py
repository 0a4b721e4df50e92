# UperNet + BEiT v2-L on ADE20K, 512x512 (unilm beit2: lr 4e-5, layer decay 0.9, drop path 0.2, out_indices
# [7, 11, 15, 23]). Paper: 56.7 mIoU.
_base_ = ['./upernet_beitv2-b_ade20k.py']
model = dict(
    backbone=dict(
        arch='large',
        drop_path_rate=0.2,
        layer_scale_init_value=1e-5,
        out_indices=[7, 11, 15, 23],
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/beitv2-l_pretrain-1600e_in1k/epoch_1600.pth')),
    decode_head=dict(channels=1024))  # the input widths follow the backbone
optim_wrapper = dict(optimizer=dict(lr=4e-5), paramwise_cfg=dict(layer_decay_rate=0.9))
