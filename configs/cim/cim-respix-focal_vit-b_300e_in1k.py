# CIM-ResPix with the focal generator loss (gamma 1, a beitmm choice).
_base_ = ['./cim-respix_vit-b_300e_in1k.py']
model = dict(generator_head=dict(loss=dict(_delete_=True, type='beitmm.FocalMLMLoss', gamma=1.0, loss_weight=1.0)))
