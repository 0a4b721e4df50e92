# Demo: zero-shot classification of held-out single-shape scenes by colour (or shape) with the tiny BEiT-3 retrieval
# model of the VL demo (configs/demo/beit3-tiny_demo_retrieval.py, same modules and keys: its checkpoint loads as it
# is). Data: beitmm.testing.synthetic_zero_shot in the ImageNet layout (val/<class>/*.jpg, classes.txt, templates.txt).
# python tools/demo.py --task zero-shot trains the retrieval model (2 seeds) and runs
#   python tools/test.py configs/demo/beit3-tiny_demo-zeroshot_cls.py RETRIEVAL_CKPT
# on the colour and the shape folders.
_base_ = ['./beit3-tiny_demo_retrieval.py']
data_root = 'data/demo/zero_shot/color'
model = dict(type='beitmm.ZeroShotClassifier', class_names=f'{data_root}/classes.txt',
             templates=f'{data_root}/templates.txt', text_batch_size=64)
val_dataloader = dict(
    _delete_=True, batch_size=50, num_workers=0, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='beitmm.ImageNet', data_root=data_root, split='val', classes=f'{data_root}/classes.txt',
                 pipeline=[dict(type='beitmm.RobustLoadImageFromFile'), dict(type='PackInputs')]))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='Accuracy', topk=(1, ))  # 3-4 classes: top-1 only
test_evaluator = val_evaluator
val_cfg = dict(_delete_=True)
test_cfg = dict(_delete_=True)
