# BEiT-3 image classifier (unilm beit3/modeling_finetune.py BEiT3ForImageClassification): the vision expert only
# (modalities=('vision',): no language expert, no text embedding), mean of the patch tokens (cls excluded) through
# fc_norm, linear head scaled by 0.001 at init; mmpretrain ImageClassifier. Head and augments as BEiT's.
_base_ = ['./beit_cls.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='beitmm.BEiT3',
        arch='base',
        img_size=224,
        modalities=('vision', ),
        out_type='avg_featmap',  # mean patch token + fc_norm
        normalize_output=False,  # unilm: normalize_output=False for ImageNet
        drop_path_rate=0.15))
