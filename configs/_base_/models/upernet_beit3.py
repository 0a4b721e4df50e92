# UperNet + BEiT-3 (vision expert only). No public BEiT-3 segmentation code exists (the paper's ADE20K result uses
# the unreleased giant with ViT-Adapter); this is beitmm's: BEiT's UperNet (Feature2Pyramid + UPerHead + FCN
# auxiliary head, blocks 3 / 5 / 7 / 11) on the BEiT-3 vision branch. A choice, documented in configs/beit3/README.md.
_base_ = ['./upernet_beit.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='beitmm.BEiT3',
        arch='base',
        img_size=(512, 512),
        modalities=('vision', ),
        out_type='featmap',
        out_indices=(3, 5, 7, 11),
        normalize_output=False,
        drop_path_rate=0.1))
