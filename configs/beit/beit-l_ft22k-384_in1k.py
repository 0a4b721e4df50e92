# beit-l_ft22k_in1k.py at 384 px (unilm: --input_size 384, beit_large_patch16_384; 14x14 -> 24x24 relative position
# tables at load time; evaluation: short side 384, 384 center crop). Official: 88.4 top-1 / 98.6 top-5
# (beit_large_patch16_384_pt22k_ft22kto1k.pth; its evaluation: Acc@1 88.408).
_base_ = ['./beit-b_ft22k-384_in1k.py']
model = dict(  # the head's width follows the backbone's
    backbone=dict(
        arch='large',
        drop_path_rate=0.4,
        layer_scale_init_value=1e-5,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit_large_patch16_224_pt22k_ft22k.pth')))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9))
