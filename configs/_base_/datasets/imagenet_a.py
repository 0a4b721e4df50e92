# ImageNet-A (Hendrycks et al., natural adversarial examples), test only, as released: imagenet-a.tar ->
# imagenet-a/ with 200 wnid folders (+ README.txt). A 1000-way ImageNet classifier is scored on those 200 classes:
# the other 800 scores are dropped before ranking (unilm beit2 run_class_finetuning.py --robust_test imagenet_a; the
# 200 wnids transcribed from unilm's imagenet_a_r_indices.py into beitmm/datasets/robustness/wnids.py).
# Evaluate a classifier config on it: python tools/test.py CONFIG CKPT --robustness a (the model config's test
# pipeline is kept; this file's pipeline is unilm's 224-px evaluation, for configs that inherit it).
dataset_type = 'beitmm.ImageNetA'
data_root = 'data/imagenet-a'
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
test_evaluator = dict(type='beitmm.SubsetAccuracy', subset='imagenet-a', topk=(1, 5))
