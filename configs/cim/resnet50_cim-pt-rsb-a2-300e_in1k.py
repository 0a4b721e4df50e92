# Fine-tune a CIM ResNet-50 enhancer with mmpretrain's own ResNet-50 config, ResNet-strikes-back A2 recipe
# (300 epochs, LAMB lr 5e-3 @ batch 2048, wd 0.02, BCE, mixup 0.1 / cutmix 1.0, RandAugment 7/0.5).
# Paper: 80.6 top-1 after 300 CIM epochs. The CIM checkpoint's `backbone.*` keys are exactly mmpretrain's
# ResNet-50 keys (zero missing); `generator.*` / `head.*` are skipped by the prefix.
_base_ = ['mmpretrain::resnet/resnet50_8xb256-rsb-a2-300e_in1k.py']
custom_imports = dict(imports=['beitmm'], allow_failed_imports=False)  # safe checkpoint loading (tools/train.py)
model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained', checkpoint='work_dirs/cim-respix_resnet50_300e_in1k/epoch_300.pth', prefix='backbone.')))
# mmpretrain's RSB-A2 pipelines with beitmm's image loader (corrupt images: skipped in training, named in testing).
bgr_mean = [103.53, 116.28, 123.675]
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10, magnitude_level=7,
         magnitude_std=0.5, hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='ResizeEdge', scale=236, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
# beitmm's own config on mmpretrain's runtime: it states what build_runner would add to a foreign config (see
# _base_/default_runtime.py): the exact-resume loop and the reliability hooks. mmpretrain's RepeatAugSampler has no
# resumable version: a resumed epoch starts over.
beitmm_config = True
train_cfg = dict(_delete_=True, type='beitmm.ResumableEpochBasedTrainLoop', max_epochs=300, val_interval=1)
default_hooks = dict(resume_state=dict(type='beitmm.ResumeStateHook'),
                     non_finite_loss=dict(type='beitmm.NonFiniteLossHook'),
                     data_health=dict(type='beitmm.DataHealthHook'))
