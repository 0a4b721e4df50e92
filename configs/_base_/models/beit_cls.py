# BEiT-B classifier (microsoft/unilm beit fine-tuning), mmpretrain ImageClassifier.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='beitmm.BEiT',
        arch='base',
        img_size=224,
        patch_size=16,
        out_type='avg_featmap',  # mean pooling + final norm (unilm's fc_norm)
        drop_path_rate=0.1,
        layer_scale_init_value=0.1,
        use_abs_pos_emb=False,
        use_rel_pos_bias=True,
        use_shared_rel_pos_bias=False),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=dict(follows='backbone'),  # the backbone's width (beitmm.engine.config_fit)
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        # unilm: trunc-normal 0.02 scaled by init_scale 0.001
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5, bias=0.)]),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))
