# Demo: CIM-RevDet, otherwise as cim-respix_beit-tiny_demo_pretrain.py (random tiny dVAE: mechanics only).
_base_ = ['./cim-respix_beit-tiny_demo_pretrain.py']
model = dict(head=dict(_delete_=True, type='beitmm.CIMRevDetHead', in_channels=96))
