"""beitmm components inside a plain mmseg / mmpretrain project (default scope of the host library)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from beitmm.checkpoint import register_safe_globals

SEG_USER_CONFIG = '''
_base_ = ['mmseg::_base_/datasets/ade20k.py', 'mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['beitmm'], allow_failed_imports=False)
default_scope = 'mmseg'
crop_size = (32, 32)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True,
                           pad_val=0, seg_pad_val=255, size=crop_size),
    backbone=dict(type=BACKBONE, arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
                  img_size=crop_size, out_indices=(0, 0, 1, 1), out_type='featmap'EXTRA),
    neck=dict(type='Feature2Pyramid', embed_dim=32, rescales=[4, 2, 1, 0.5], norm_cfg=norm_cfg),
    decode_head=dict(type='UPerHead', in_channels=[32] * 4, in_index=[0, 1, 2, 3], channels=16, num_classes=150,
                     norm_cfg=norm_cfg, loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    test_cfg=dict(mode='whole'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=DATA_ROOT, pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=DATA_ROOT))
test_dataloader = val_dataloader
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
                     constructor='beitmm.LayerDecayOptimWrapperConstructor',
                     paramwise_cfg=dict(layer_decay_rate=0.9))
param_scheduler = [dict(type='PolyLR', by_epoch=False, begin=0, end=2)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2))
'''


# (type, module, extra arguments, classification out_type): BEiT-3 as its configs use it, the vision expert alone
BACKBONES = [('beitmm.BEiT', 'beitmm.models.backbones.beit', '', 'cls_token'),
             ('beitmm.BEiT3', 'beitmm.models.backbones.beit3', ", modalities=('vision', ), normalize_output=False",
              'avg_featmap')]


def _user_config(text: str, backbone: tuple) -> str:
    return text.replace('BACKBONE', repr(backbone[0])).replace('EXTRA', backbone[2]).replace('OUT_TYPE',
                                                                                            repr(backbone[3]))


@pytest.mark.parametrize('backbone', BACKBONES, ids=lambda b: b[0])
def test_beitmm_backbone_in_an_mmseg_project(backbone, ade20k_root, tmp_path):
    path = tmp_path / 'user_cfg.py'
    path.write_text(_user_config(SEG_USER_CONFIG, backbone).replace('DATA_ROOT', repr(ade20k_root)))
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work')
    register_safe_globals()
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert type(runner.model.backbone).__module__ == backbone[1]
    lrs = {g['initial_lr'] for g in runner.optim_wrapper.optimizer.param_groups}
    assert len(lrs) > 1  # layer decay applied through the beitmm constructor
    metrics = runner.val_loop.run()
    assert 'mIoU' in metrics
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_2.pth'))


CLS_USER_CONFIG = '''
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['beitmm'], allow_failed_imports=False)
default_scope = 'mmpretrain'
model = dict(
    type='ImageClassifier',
    backbone=dict(type=BACKBONE, arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
                  img_size=32, out_type=OUT_TYPEEXTRA),
    head=dict(type='LinearClsHead', num_classes=NUM_CLASSES, in_channels=32,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
data_preprocessor = dict(num_classes=NUM_CLASSES, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                         to_rgb=True)
pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=32), dict(type='PackInputs')]
train_dataloader = dict(batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(type='CustomDataset', data_root=DATA_ROOT, data_prefix='train', pipeline=pipeline))
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                     constructor='beitmm.LayerDecayOptimWrapperConstructor',
                     paramwise_cfg=dict(layer_decay_rate=0.65))
train_cfg = dict(by_epoch=True, max_epochs=1)
'''


@pytest.mark.parametrize('backbone', BACKBONES, ids=lambda b: b[0])
def test_beitmm_backbone_in_an_mmpretrain_project(backbone, imagenet_info, tmp_path):
    path = tmp_path / 'user_cfg.py'
    text = _user_config(CLS_USER_CONFIG, backbone).replace('DATA_ROOT', repr(imagenet_info['root']))
    path.write_text(text.replace('NUM_CLASSES', str(len(imagenet_info['classes']))))
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work')
    register_safe_globals()
    runner = Runner.from_cfg(cfg)
    assert type(runner.model.backbone).__module__ == backbone[1]
    before = {k: v.detach().clone() for k, v in runner.model.backbone.named_parameters()}
    runner.train()
    unchanged = [k for k, v in runner.model.backbone.named_parameters()
                 if v.requires_grad and torch.equal(before[k], v)]
    assert not unchanged  # every trainable backbone weight trains


# (host, config text, train_cfg.type before -> after, train sampler before -> after, AMP wrapper asked for)
FOREIGN = [('mmseg', SEG_USER_CONFIG, ('IterBasedTrainLoop', 'beitmm.ResumableIterBasedTrainLoop'),
            ('InfiniteSampler', 'beitmm.ResumableInfiniteSampler'), False),
           ('mmpretrain', CLS_USER_CONFIG, ('(by_epoch)', 'beitmm.ResumableEpochBasedTrainLoop'),
            ('DefaultSampler', 'beitmm.ResumableSampler'), True)]


@pytest.mark.parametrize('case', FOREIGN, ids=lambda c: c[0])
def test_build_runner_gives_a_foreign_config_exact_resume_and_the_guards(case, imagenet_info, ade20k_root, tmp_path):
    """A config that is not beitmm's own gets what beitmm's configs state, logged change by change."""
    from beitmm.engine.runner import build_runner, is_beitmm_config
    host, text, (loop_before, loop), (sampler_before, sampler), amp = case
    path = tmp_path / 'user_cfg.py'
    text = _user_config(text, BACKBONES[0]).replace('NUM_CLASSES', str(len(imagenet_info['classes'])))
    path.write_text(text.replace('DATA_ROOT', repr(ade20k_root if host == 'mmseg' else imagenet_info['root'])))
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work')
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'  # mmengine's, as an mmpretrain config writes it
    assert not is_beitmm_config(cfg)
    runner = build_runner(cfg)
    assert runner.cfg.train_cfg.type == loop and 'by_epoch' not in runner.cfg.train_cfg
    assert runner.cfg.train_dataloader.sampler.type == sampler
    hooks = [type(h).__name__ for h in runner.hooks]
    for name in ('ResumeStateHook', 'NonFiniteLossHook', 'DataHealthHook'):
        assert hooks.count(name) == 1, (name, hooks)
    assert runner.cfg.optim_wrapper.get('type') == ('beitmm.AmpOptimWrapper' if amp else 'OptimWrapper')
    with open(runner.logger.log_file) as f:
        log = f.read()
    expected = [f'train_cfg.type: {loop_before} -> {loop} (exact resume)',
                f'train_dataloader.sampler.type: {sampler_before} -> {sampler} (skips trained samples on resume)',
                'custom_hooks: + beitmm.ResumeStateHook', 'custom_hooks: + beitmm.NonFiniteLossHook',
                'custom_hooks: + beitmm.DataHealthHook']
    expected += ['optim_wrapper.type: AmpOptimWrapper -> beitmm.AmpOptimWrapper (counts skipped steps)'] if amp else []
    for line in expected:
        assert line in log, line
    if not amp:  # AMP on a CPU without native half precision would only be slow
        runner.train()
        assert type(runner.train_loop).__name__ == loop.rpartition('.')[2]


DET_USER_CONFIG = '''
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['beitmm'], allow_failed_imports=False)
default_scope = 'mmdet'
norm_cfg = dict(type='beitmm.LN2d', requires_grad=True)
model = dict(
    data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3),
    backbone=dict(_delete_=True, type='beitmm.BEiT',
                  arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64), img_size=64,
                  out_type='featmap', with_cls_token=False, window_size=2, window_block_indexes=[0]),
    neck=dict(_delete_=True, type='beitmm.SimpleFPN', in_channels=32, out_channels=16, norm_cfg=norm_cfg),
    rpn_head=dict(in_channels=16, feat_channels=16, anchor_generator=dict(scales=[2])),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=16), mask_roi_extractor=dict(out_channels=16),
                  bbox_head=dict(in_channels=16, fc_out_channels=32, num_classes=3),
                  mask_head=dict(in_channels=16, conv_out_channels=16, num_classes=3)))
metainfo = dict(classes=CLASSES)
pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='Resize', scale=(64, 64), keep_ratio=True), dict(type='PackDetInputs')]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=DATA_ROOT, metainfo=metainfo, pipeline=pipeline,
                                     filter_cfg=dict(filter_empty_gt=True, min_size=4)))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=DATA_ROOT, metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=DATA_ROOT + '/annotations/instances_val2017.json')
test_evaluator = val_evaluator
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.1),
                     constructor='beitmm.LayerDecayOptimWrapperConstructor', paramwise_cfg=dict(layer_decay_rate=0.7))
param_scheduler = []
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2))
'''


def test_beitmm_backbone_in_an_mmdet_project(tmp_path):
    """The own Mask R-CNN config of mmdet with beitmm's windowed BEiT and simple pyramid: trains and gives COCO AP."""
    from beitmm.testing.synthetic_coco import make_coco_data
    coco = make_coco_data(str(tmp_path / 'coco'), num_train=4, num_val=2, img_size=64)
    path = tmp_path / 'user_cfg.py'
    path.write_text(DET_USER_CONFIG.replace('DATA_ROOT', repr(coco['root'])).replace('CLASSES',
                                                                                     repr(coco['classes'])))
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work')
    register_safe_globals()
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert type(runner.model.backbone).__module__ == 'beitmm.models.backbones.beit'
    assert type(runner.model.neck).__module__ == 'beitmm.models.necks.simple_fpn'
    lrs = {g['lr'] for g in runner.optim_wrapper.optimizer.param_groups}
    assert len(lrs) > 1  # layer decay applied through the beitmm constructor
    metrics = runner.val_loop.run()
    assert {'coco/bbox_mAP', 'coco/segm_mAP'} <= set(metrics)
