# Linear probing of VL-BEiT-B on ImageNet-1k (beitmm's choice: VL-BEiT, paper only, reports no linear probe). Frozen
# backbone (no gradients, eval mode), image-only forward (vision experts), features of the probed block =
# [cls token ; mean patch token] (2 x 768), BatchNorm without affine, linear classifier; schedule of unilm
# beit/run_linear_eval.py as configs/beitv2/beitv2-b_linear_in1k.py (AdamW lr 4e-3 @ 1024, weight decay 1e-4, 10
# warm-up epochs then cosine, 100 epochs, random resized crop + flip), mean 0.5 / std 0.5 as VL-BEiT's pretraining.
# Probe another block with model.backbone.out_indices (e.g. [8] = 9th block); the default is the last one (choice).
_base_ = ['../beitv2/beitv2-b_linear_in1k.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='beitmm.VLBEiT',
        arch='base',
        img_size=224,
        patch_size=16,
        use_mask_token=False,
        out_type='raw',
        out_indices=-1,
        image_only=True,
        drop_path_rate=0.,
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/vlbeit-b_pretrain_vl-corpus/iter_200000.pth')))
data_preprocessor = dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5])
