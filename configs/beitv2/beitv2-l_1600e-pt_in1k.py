# BEiT v2-L fine-tuning from the 1600-epoch pretraining (unilm beit2 get_started_for_image_classification.md: lr 2e-4,
# layer decay 0.8, drop path 0.2, 50 epochs / 5 warm-up). Paper: 87.3 top-1.
# Official weights work too: checkpoint='pretrain/beitv2_large_patch16_224_pt1k.pth'.
_base_ = ['./beitv2-l_in1k.py']
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained',
                                checkpoint='work_dirs/beitv2-l_pretrain-1600e_in1k/epoch_1600.pth')))
optim_wrapper = dict(optimizer=dict(lr=2e-4))
