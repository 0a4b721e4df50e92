# ImageNetV2 (Recht et al. 2019), matched-frequency test set as released: imagenetv2-matched-frequency.tar.gz ->
# imagenetv2-matched-frequency-format-val/ with folders 0..999 named by the ImageNet-1k class index (labelled by the
# number, not by sorted folder name). Not in unilm's robustness evaluation (a choice: the usual fourth variant); the
# other two releases (threshold0.7, top-images) load with their folder as data_prefix.
# Evaluate a classifier config on it: python tools/test.py CONFIG CKPT --robustness v2 (the model config's test
# pipeline is kept; this file's pipeline is unilm's 224-px evaluation, for configs that inherit it).
dataset_type = 'beitmm.ImageNetV2'
data_root = 'data/imagenet-v2'
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
        data_prefix='imagenetv2-matched-frequency-format-val',  # the class folders
        pipeline=test_pipeline))
test_evaluator = dict(type='Accuracy', topk=(1, 5), prefix='imagenet-v2')
