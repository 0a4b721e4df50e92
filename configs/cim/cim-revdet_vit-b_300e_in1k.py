# CIM-RevDet, ViT-B/16 enhancer: for every one of the 14 x 14 DALL-E tokens, was it replaced by the generator's
# sample? (ELECTRA's replaced-token detection; a sample equal to the original token counts as not replaced.)
# Binary cross-entropy over all tokens. Everything else as CIM-ResPix.
_base_ = ['./cim-respix_vit-b_300e_in1k.py']
model = dict(head=dict(_delete_=True, type='beitmm.CIMRevDetHead', in_channels=dict(follows='backbone'),
                       loss_weight=1.0))
