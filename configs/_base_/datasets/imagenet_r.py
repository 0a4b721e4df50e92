# ImageNet-R (Hendrycks et al., renditions; 30,000 images by its README), test only, as released: imagenet-r.tar ->
# imagenet-r/ with 200 wnid folders (+ README.txt). Scored on its 200 classes as ImageNet-A (unilm --robust_test
# imagenet_r; unilm's ImageNet-R wnid set in beitmm/datasets/robustness/wnids.py).
# Evaluate a classifier config on it: python tools/test.py CONFIG CKPT --robustness r (the model config's test
# pipeline is kept; this file's pipeline is unilm's 224-px evaluation, for configs that inherit it).
dataset_type = 'beitmm.ImageNetR'
data_root = 'data/imagenet-r'
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
        data_prefix='',  # the class folders
        pipeline=test_pipeline))
test_evaluator = dict(type='beitmm.SubsetAccuracy', subset='imagenet-r', topk=(1, 5))
