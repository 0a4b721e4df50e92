# CIM-ResPix with hardness-aware sampling: the hardness head predicts the enhancer's pixel loss of a patch
# (the mean sliding-window-normalised MSE of its pixels) for every candidate code; sampling and importance
# weighting as cim-revdet_hardness (derived form; hardness_power 1 a beitmm choice).
_base_ = ['./cim-respix_vit-b_300e_in1k.py']
model = dict(sampler=dict(mode='hardness', hardness_power=1.0, importance_weight=True),
             hardness_head=dict(init_hardness=1.0, loss_weight=1.0))  # ~ the MSE of unit-variance targets
