"""Runner smoke tests of each config family on tiny generated data, and the backbone handoff."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.testing.shrink import config_path, tiny_cls_config, tiny_seg_config


def _ckpt(work_dir: str) -> str:
    return sorted(glob.glob(osp.join(work_dir, '*.pth')), key=osp.getmtime)[-1]


def _backbone_keys(state: dict) -> set:
    return {k for k in state if k.startswith('backbone.')}


@pytest.fixture(scope='module')
def trained_cls(imagenet_info, tmp_path_factory):
    """1 epoch of configs/beit/beit-b_in1k.py at tiny size (RandAugment, erasing, mixup/cutmix on)."""
    work = str(tmp_path_factory.mktemp('cls'))
    cfg = tiny_cls_config(config_path('beit/beit-b_in1k.py'), imagenet_info['root'], work,
                          num_classes=len(imagenet_info['classes']))
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    return dict(work=work, cfg=cfg, metrics=metrics, ckpt=_ckpt(work))


@pytest.fixture(scope='module')
def trained_seg(ade20k_root, tmp_path_factory):
    """2 iterations of configs/beit/upernet_beit-b_ade20k.py at tiny size, slide inference."""
    work = str(tmp_path_factory.mktemp('seg'))
    cfg = tiny_seg_config(config_path('beit/upernet_beit-b_ade20k.py'), ade20k_root, work)
    runner = build_runner(cfg)
    runner.train()
    return dict(work=work, cfg=cfg, ckpt=_ckpt(work))


def test_classification_runner(trained_cls):
    assert 'accuracy/top1' in trained_cls['metrics'] and 'accuracy/top3' in trained_cls['metrics']
    assert 0 <= trained_cls['metrics']['accuracy/top1'] <= 100
    state = torch.load(trained_cls['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    assert 'backbone.blocks.1.attn.relative_position_bias_table' in state and 'head.fc.weight' in state


def test_segmentation_runner_and_test_tool(trained_seg, ade20k_root):
    cfg = trained_seg['cfg'].copy()
    cfg.load_from = trained_seg['ckpt']
    metrics = build_runner(cfg).test()
    assert 0 <= metrics['mIoU'] <= 100


@pytest.mark.parametrize('mode', ['whole', 'slide'])
def test_segmentation_other_sizes(trained_seg, mode):
    """Inference on images whose size is not the training crop (relative positions resized)."""
    from beitmm.apis import inference_model, init_model
    cfg = trained_seg['cfg'].copy()
    cfg.model.test_cfg = dict(mode=mode, crop_size=(32, 32), stride=(21, 21))
    model = init_model(cfg, trained_seg['ckpt'])
    img = (torch.rand(50, 75, 3) * 255).byte().numpy()
    pred = inference_model(model, img)
    assert pred.pred_sem_seg.data.shape == (1, 50, 75)


def test_classification_checkpoint_initialises_segmentation(trained_cls, trained_seg, ade20k_root, tmp_path):
    """A classification checkpoint loads into UperNet with zero missing backbone keys, and back."""
    from beitmm.apis import init_model
    from beitmm.checkpoint import load_model_checkpoint, load_pretrained_backbone
    seg = init_model(trained_seg['cfg'])
    cls_state = torch.load(trained_cls['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    loaded = load_model_checkpoint(seg, trained_cls['ckpt'])
    assert _backbone_keys(loaded) == _backbone_keys(seg.state_dict())
    for k in _backbone_keys(loaded):
        torch.testing.assert_close(loaded[k], cls_state[k])  # same grid (32 px): copied as is
    # and through the backbone's init_cfg, the path configs use
    seg2 = init_model(trained_seg['cfg'])
    report = load_pretrained_backbone(seg2.backbone, trained_cls['ckpt'])
    assert not report.missing
    torch.testing.assert_close(seg2.backbone.blocks[1].attn.qkv.weight, cls_state['backbone.blocks.1.attn.qkv.weight'])
    # segmentation -> classification
    cls = init_model(trained_cls['cfg'])
    loaded = load_model_checkpoint(cls, trained_seg['ckpt'])
    assert _backbone_keys(loaded) == _backbone_keys(cls.state_dict())


def test_load_from_runs_conversion(trained_cls, ade20k_root, tmp_path):
    """`load_from` of a classification checkpoint into a segmentation run trains."""
    cfg = tiny_seg_config(config_path('beit/upernet_beit-b_ade20k.py'), ade20k_root, str(tmp_path))
    cfg.load_from = trained_cls['ckpt']
    runner = build_runner(cfg)
    runner.train()
    state = torch.load(trained_cls['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    assert runner.model.backbone.patch_embed.proj.weight.shape == state['backbone.patch_embed.proj.weight'].shape


SELF_LOCATING = ('beitmm.PolarityDataset', )


def test_all_configs_parse():
    """Every shipped config loads, and its model builds at full size without touching data."""
    from mmengine.registry import MODELS, init_default_scope

    from beitmm.engine.config_fit import resolve_widths
    paths = sorted(glob.glob(config_path('*/*.py')))
    assert len(paths) >= 6
    for path in paths:
        if '_base_' in path:
            continue
        cfg = Config.fromfile(path)
        assert cfg.default_scope in ('mmseg', 'mmpretrain', 'mmdet', 'beitmm'), path
        dataset = cfg.train_dataloader.dataset  # a multi-source pretraining set has one data root per stream
        sources = dataset.sources.values() if 'sources' in dataset else [dataset]
        # a dataset read from a file inside an installed package (PolarityDataset: gensim's test data) has no root
        assert all(source.get('data_root') or source.type in SELF_LOCATING for source in sources), path
    init_default_scope('mmseg')
    cfg = Config.fromfile(config_path('beit/upernet_beit-b_ade20k.py'))
    cfg.model.backbone.init_cfg = None
    resolve_widths(cfg)  # the decode heads' widths follow the backbone (dict(follows='backbone'))
    model = MODELS.build(cfg.model)
    n = sum(p.numel() for p in model.backbone.parameters())
    assert 85e6 < n < 90e6  # BEiT-B with per-layer 640 px tables (86M + 12 x 6244 x 12)
