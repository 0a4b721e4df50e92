# CIM-RevDet with the focal generator loss ((1 - p)^gamma x CE on the masked DALL-E codes), against the generator's
# over-confidence (few replaced patches, i.e. a high correct-resample rate). gamma 1 is a beitmm choice.
_base_ = ['./cim-revdet_vit-b_300e_in1k.py']
model = dict(generator_head=dict(loss=dict(_delete_=True, type='beitmm.FocalMLMLoss', gamma=1.0, loss_weight=1.0)))
