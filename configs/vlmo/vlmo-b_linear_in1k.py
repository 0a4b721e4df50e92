# Linear probing of VLMo-B's vision path on ImageNet-1k (beitmm's choice: the VLMo paper reports no linear probe), from
# the official stage-3 checkpoint (vlmo_base_patch16_224.pt). Frozen backbone, [cls ; mean patch] features of the last
# block, BatchNorm + linear classifier, unilm beit/run_linear_eval.py's schedule: see
# configs/vlbeit/vlbeit-b_linear_in1k.py and configs/beitv2/beitv2-b_linear_in1k.py.
_base_ = ['../vlbeit/vlbeit-b_linear_in1k.py']
model = dict(
    backbone=dict(
        type='beitmm.VLMo',
        use_mask_token=False,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/vlmo_base_patch16_224.pt')))
