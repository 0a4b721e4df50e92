# Ablation of the unified view: LayerNorm-ed CLIP targets with an MSE loss instead of smooth-L1.
_base_ = ['./maskdistill_clip-b16_vit-b_300e_in1k.py']
model = dict(head=dict(loss=dict(kind='mse')))
