# BEiT-3 large for COCO retrieval (unilm get_started_for_retrieval.md:99-121): lr 5e-5, layer decay 0.85, from
# beit3_large_itc, 96 per GPU on unilm's 2 nodes x 16 GPUs = total batch 3072, as base (the contrastive loss sees all
# 3072). Launch: bash tools/dist_train.sh CONFIG 16 on each of 2 nodes (NNODES=2 NODE_RANK=... MASTER_ADDR=...);
# on another GPU count set train_dataloader.batch_size to 3072 / GPUs. Reported (5k test): TR@1 82.1, IR@1 63.4.
_base_ = ['./beit3-b_coco-retrieval.py']
train_dataloader = dict(batch_size=96)  # --batch_size 96 (get_started_for_retrieval.md:104)
model = dict(backbone=dict(arch='large', init_cfg=dict(checkpoint='pretrain/beit3_large_itc_patch16_224.pth')))
optim_wrapper = dict(optimizer=dict(lr=5e-5), paramwise_cfg=dict(layer_decay_rate=0.85))
