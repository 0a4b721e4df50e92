# BEiT-3 large for COCO captioning: lr 8e-6 (unilm get_started_for_captioning.md). Reported: CIDEr 143.2.
_base_ = ['./beit3-b_coco-captioning.py']
model = dict(backbone=dict(arch='large', init_cfg=dict(checkpoint='pretrain/beit3_large_patch16_224.pth')))
optim_wrapper = dict(optimizer=dict(lr=8e-6))
