# Ablation of the unified view: LayerNorm-ed CLIP targets with a cosine loss (1 - cos, as MVP / VQ-KD).
_base_ = ['./maskdistill_clip-b16_vit-b_300e_in1k.py']
model = dict(head=dict(loss=dict(kind='cosine')))
