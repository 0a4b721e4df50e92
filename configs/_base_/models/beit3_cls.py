# BEiT-3 image classifier (unilm beit3/modeling_finetune.py BEiT3ForImageClassification): the vision expert only
# (modalities=('vision',): no language expert, no text embedding), mean of the patch tokens (cls excluded) through
# fc_norm, linear head scaled by 0.001 at init; mmpretrain ImageClassifier.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='beitmm.BEiT3',
        arch='base',
        img_size=224,
        modalities=('vision', ),
        out_type='avg_featmap',  # mean patch token + fc_norm
        normalize_output=False,  # unilm: normalize_output=False for ImageNet
        drop_path_rate=0.15),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5, bias=0.)]),  # trunc-normal 0.02 x 0.001
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))
