# UperNet + BEiT-3 large on ADE20K (beitmm's choice, as the base config): blocks 7 / 11 / 15 / 23, BEiT-L's
# self-supervised-weights settings scaled as the base config (lr 7e-4 -> a choice of 3e-4, layer decay 0.9, drop
# path 0.2: unverified). No reference number.
_base_ = ['./upernet_beit3-b_ade20k.py']
model = dict(
    backbone=dict(arch='large', out_indices=(7, 11, 15, 23), drop_path_rate=0.2,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit3_large_patch16_224.pth')),
    decode_head=dict(channels=1024))  # the input widths follow the backbone
optim_wrapper = dict(optimizer=dict(lr=3e-4), paramwise_cfg=dict(layer_decay_rate=0.9))
