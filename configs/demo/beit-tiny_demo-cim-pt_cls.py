# Demo: fine-tune the tiny classifier of beit-tiny_demo_cls.py from the cim-respix_beit-tiny_demo_pretrain.py enhancer
# (run that first; its work_dir must hold epoch_4.pth). Only `backbone.*` is read; generator keys are ignored.
_base_ = ['./beit-tiny_demo_cls.py']
model = dict(backbone=dict(init_cfg=dict(_delete_=True, type='Pretrained',
                                         checkpoint='work_dirs/cim-respix_beit-tiny_demo_pretrain/epoch_4.pth',
                                         prefix='backbone.')))
