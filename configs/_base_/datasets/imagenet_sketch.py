# ImageNet-Sketch (Wang et al. 2019), test only, as released: ImageNet-Sketch.zip -> sketch/ with 1000 wnid folders;
# all 1000 classes are scored (unilm beit2: --nb_classes 1000 for ImageNet-Sketch, no mask).
# Evaluate a classifier config on it: python tools/test.py CONFIG CKPT --robustness sketch (the model config's test
# pipeline is kept; this file's pipeline is unilm's 224-px evaluation, for configs that inherit it).
dataset_type = 'beitmm.ImageNetSketch'
data_root = 'data/imagenet-sketch'
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),  # corrupt/truncated image: stop with the file name
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bicubic'),  # 224 / 0.875
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root,
        data_prefix='sketch',  # the class folders
        pipeline=test_pipeline))
test_evaluator = dict(type='Accuracy', topk=(1, 5), prefix='imagenet-sketch')
