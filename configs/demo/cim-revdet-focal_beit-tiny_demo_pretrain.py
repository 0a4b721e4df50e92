# Demo: CIM-RevDet with the focal generator loss, gamma 1 (as configs/cim/cim-revdet-focal_vit-b_300e_in1k.py), tiny.
_base_ = ['./cim-revdet_beit-tiny_demo_pretrain.py']
model = dict(generator_head=dict(loss=dict(_delete_=True, type='beitmm.FocalMLMLoss', gamma=1.0)))
