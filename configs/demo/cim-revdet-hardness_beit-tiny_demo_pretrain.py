# Demo: CIM-RevDet with hardness-aware sampling (as configs/cim/cim-revdet-hardness_vit-b_300e_in1k.py), tiny.
_base_ = ['./cim-revdet_beit-tiny_demo_pretrain.py']
model = dict(sampler=dict(mode='hardness'))
