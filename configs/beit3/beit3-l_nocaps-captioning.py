# BEiT-3 large for NoCaps: the base NoCaps config at large width, lr 8e-6 ("8e-6 for COCO captioning and NoCaps",
# unilm get_started_for_captioning.md:135). Official weights: beit3_large_patch16_480_nocaps.pth.
# Reported: val CIDEr 120.2 (unilm beit3/README.md; EvalAI server).
_base_ = ['./beit3-b_nocaps-captioning.py']
model = dict(backbone=dict(arch='large', init_cfg=dict(checkpoint='pretrain/beit3_large_patch16_224.pth')))
optim_wrapper = dict(optimizer=dict(lr=8e-6))
