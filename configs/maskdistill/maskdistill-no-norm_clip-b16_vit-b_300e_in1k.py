# Ablation of the unified view: CLIP targets without normalisation (raw ln_post + proj features), smooth-L1.
_base_ = ['./maskdistill_clip-b16_vit-b_300e_in1k.py']
model = dict(target_generator=dict(normalize='none'))
