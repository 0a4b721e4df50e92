# Demo: CIM-RevDet with hardness-aware sampling (as configs/cim/cim-revdet_hardness_vit-b_300e_in1k.py), tiny.
_base_ = ['./cim-tiny_revdet_demo.py']
model = dict(sampler=dict(mode='hardness'))
