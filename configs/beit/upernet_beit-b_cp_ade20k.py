# upernet_beit-b_ade20k.py with activation checkpointing: the backbone blocks and both heads'
# maps are recomputed in the backward pass and the loss on the upsampled 150-class logits is
# computed in row bands (beitmm.FastUPerHead / beitmm.LowMemoryFCNHead, with_cp). Same model,
# weights and losses; about one extra forward per step for much less memory (README, Speed).
_base_ = ['./upernet_beit-b_ade20k.py']
model = dict(
    backbone=dict(with_cp=True),
    decode_head=dict(with_cp=True),
    auxiliary_head=dict(with_cp=True))
