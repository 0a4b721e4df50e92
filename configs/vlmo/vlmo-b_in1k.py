# VLMo-B's vision path fine-tuned on ImageNet-1k from the official stage-3 checkpoint (vlmo_base_patch16_224.pt) or a
# beitmm VLMo pretraining (configs/vlmo/vlmo-b_pretrain-stage3_pairs.py). The VLMo paper reports no ImageNet result
# and releases no recipe for it: the settings are beitmm's choices, VL-BEiT's (configs/vlbeit/vlbeit-b_in1k.py), i.e.
# BEiT-B's ImageNet-1k recipe (configs/beit/beit-b_in1k.py: 100 epochs, lr 4e-3 @ 1024, layer decay 0.65, drop path
# 0.1, mean pooling + final norm), mean 0.5 / std 0.5 as VLMo's. The text embeddings and the language / VL experts
# load (zero missing keys) but stay frozen (image_only=True); VLMo's task heads (pooler, itc_*, mlm_score, itm_score)
# are dropped, with a report.
_base_ = ['../vlbeit/vlbeit-b_in1k.py']
model = dict(
    backbone=dict(
        type='beitmm.VLMo',
        use_mask_token=False,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/vlmo_base_patch16_224.pt')))
