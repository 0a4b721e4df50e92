# UperNet + VLMo-B's vision path on ADE20K (512x512, 160k iterations, 8 GPUs x 2) from the official stage-3 checkpoint
# (vlmo_base_patch16_224.pt) or a beitmm VLMo pretraining. The VLMo paper reports no ADE20K result and releases no
# recipe for it: the settings are beitmm's choices, VL-BEiT's (configs/vlbeit/upernet_vlbeit-b_ade20k.py), i.e.
# BEiT-B's recipe for self-supervised weights (configs/beit/upernet_beit-b_512_ade20k.py: lr 7e-4, layer decay 0.65,
# drop path 0.1, blocks 3, 5, 7, 11). The merged relative position table's image rows are resized 14x14 -> 32x32.
_base_ = ['../vlbeit/upernet_vlbeit-b_ade20k.py']
model = dict(
    backbone=dict(
        type='beitmm.VLMo',
        use_mask_token=False,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/vlmo_base_patch16_224.pt')))
