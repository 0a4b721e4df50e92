# Demo: fine-tune the tiny MaskDistill student (configs/demo/maskdistill_clip-tiny_beit-tiny_demo_pretrain.py) on
# the demo classification data. Same as beit-tiny_demo_cls.py but with MaskDistill's ImageNet mean / std and the
# pretraining checkpoint as initialisation (shared relative position bias expanded per layer at load time).
_base_ = ['./beit-tiny_demo_cls.py']
data_preprocessor = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
model = dict(backbone=dict(init_cfg=dict(
    _delete_=True, type='Pretrained',
    checkpoint='work_dirs/maskdistill_clip-tiny_beit-tiny_demo_pretrain/epoch_10.pth')))
