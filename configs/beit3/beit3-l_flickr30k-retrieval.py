# BEiT-3 large for Flickr30K retrieval: layer decay 0.85 from beit3_large_itc, 20 epochs (5 warm-up), 96 per GPU on
# 2 nodes x 16 GPUs = total batch 3072 (unilm get_started_for_retrieval.md:99-125; launch as beit3-l_coco-retrieval.py).
# unilm gives no large lr for Flickr30K, so lr 5e-5 (the COCO large value) is a beitmm choice.
# Reported (1k test): TR@1 97.2, IR@1 88.1.
_base_ = ['./beit3-b_flickr30k-retrieval.py']
train_dataloader = dict(batch_size=96)  # --batch_size 96 (get_started_for_retrieval.md:104)
model = dict(backbone=dict(arch='large', init_cfg=dict(checkpoint='pretrain/beit3_large_itc_patch16_224.pth')))
optim_wrapper = dict(optimizer=dict(lr=5e-5), paramwise_cfg=dict(layer_decay_rate=0.85))  # lr: beitmm choice
