# Demo: the tiny BEiT with a linear decode head (a 1x1 conv on the last block's patch features, upsampled),
# fine-tuned end to end on the generated ADE20K-layout scenes. With no convolutional head to learn the
# shapes itself, the backbone does all the work, so this run shows what the pretrained features carry
# (tools/demo.py: seeds 0, 1 and 2; with --full 0-4). Same data, schedule and optimizer as
# upernet_beit-tiny_demo_seg.py.
_base_ = ['./upernet_beit-tiny_demo_seg.py']
model = dict(
    backbone=dict(out_indices=(3, )),
    neck=None,
    decode_head=dict(_delete_=True, type='mmseg.FCNHead', in_channels=96, in_index=0, channels=96, num_convs=0,
                     concat_input=False, dropout_ratio=0., num_classes=4, align_corners=False,
                     norm_cfg=dict(type='SyncBN', requires_grad=True),
                     loss_decode=dict(type='mmseg.CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=None)
