# Zero-shot ImageNet-1k with a BEiT-3 large retrieval model (see beit3-b_zeroshot_in1k.py):
#   python tools/test.py configs/beit3/beit3-l_zeroshot_in1k.py pretrain/beit3_large_itc_patch16_224.pth
_base_ = ['./beit3-b_zeroshot_in1k.py']
model = dict(backbone=dict(arch='large'))
test_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
