"""BEiT v2 chain on tiny data with the real configs.

VQ-KD training -> pretraining with its checkpoint -> fine-tuning / linear probing / segmentation from the
pretraining checkpoint (CLS branch dropped).
"""
import glob
import json
import os.path as osp

import pytest
import torch

from beitmm.engine.runner import build_runner
from beitmm.testing.beitv2 import shrink_v2_pretrain_config, shrink_vqkd_config
from beitmm.testing.shrink import TINY, config_path, tiny_cls_config, tiny_seg_config


def _log(work):
    return open(sorted(glob.glob(osp.join(work, '*', '*.log')))[-1]).read()


def _state(ckpt):
    return torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']


@pytest.fixture(scope='module')
def vqkd(unlabeled_root, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('vqkd'))
    cfg = shrink_vqkd_config(config_path('beitv2/vqkd_clip-b16_vit-b_in1k.py'), unlabeled_root, work, epochs=2)
    runner = build_runner(cfg)
    runner.train()
    return dict(work=work, ckpt=osp.join(work, 'epoch_2.pth'), model_cfg=cfg.model.to_dict(), runner=runner)


@pytest.fixture(scope='module')
def pretrained(vqkd, unlabeled_root, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('pretrain'))
    model_cfg = {k: v for k, v in vqkd['model_cfg'].items() if k != 'data_preprocessor'}
    cfg = shrink_v2_pretrain_config(config_path('beitv2/beitv2-b_pretrain_in1k.py'), unlabeled_root, work,
                                    model_cfg, vqkd['ckpt'])
    runner = build_runner(cfg)
    runner.train()
    return dict(work=work, ckpt=osp.join(work, 'epoch_1.pth'), runner=runner)


def test_vqkd_training_logs_codebook_health_every_epoch(vqkd):
    text = _log(vqkd['work'])
    assert 'loss_rec:' in text and 'loss_quant:' in text
    lines = [ln for ln in text.splitlines() if 'codebook quantize: used' in ln]
    assert len(lines) == 2 and 'perplexity' in lines[0] and 'dead-code restarts' in lines[0]
    hook = next(h for h in vqkd['runner'].hooks if type(h).__name__ == 'CodebookHealthHook')
    assert [s['epoch'] for s in hook.history] == [1, 2]
    assert all(s['assignments'] == 4 * 2 * 4 for s in hook.history)  # 4 iterations x 2 images x 4 patches
    scalars = [json.loads(ln) for ln in open(glob.glob(osp.join(vqkd['work'], '*', 'vis_data', 'scalars.json'))[0])]
    assert any('codebook/quantize/usage' in s for s in scalars)
    state = _state(vqkd['ckpt'])
    assert not any(k.startswith('teacher.') for k in state) and state['quantize.embedding.initted'].item() == 1


def test_dino_vqkd_config_trains(unlabeled_root, tmp_path):
    cfg = shrink_vqkd_config(config_path('beitv2/vqkd_dino-b16_vit-b_in1k.py'), unlabeled_root, str(tmp_path))
    cfg.train_dataloader.dataset.pipeline[1]['scale'] = 32
    runner = build_runner(cfg)
    assert type(runner.model.teacher).__name__ == 'DINOViT' and runner.model.decoder.num_layers == 1
    runner.train()
    assert 'codebook quantize: used' in _log(str(tmp_path))


def test_pretraining_uses_the_vqkd_checkpoint_and_the_cls_branch(pretrained, vqkd):
    text = _log(pretrained['work'])
    assert 'loss_1:' in text and 'mim_acc_1:' in text  # CE of the CLS-pretraining branch
    assert 'codebook target_generator.quantize: used' in text  # token usage of the frozen tokenizer
    state = _state(pretrained['ckpt'])
    assert any(k.startswith('neck.cls_pt_layers.1.') for k in state)
    assert not any(k.startswith('target_generator.') for k in state)
    tok = pretrained['runner'].model.target_generator
    vq = _state(vqkd['ckpt'])
    torch.testing.assert_close(tok.quantize.embedding.weight, vq['quantize.embedding.weight'])
    torch.testing.assert_close(tok.encoder.blocks[0].attn.qkv.weight, vq['encoder.blocks.0.attn.qkv.weight'])


def test_pretrained_backbone_loads_with_zero_missing_keys(pretrained):
    from beitmm.checkpoint import load_pretrained_backbone
    from beitmm.registry import MODELS
    backbone = MODELS.build(dict(type='beitmm.BEiT', arch=TINY, img_size=64, use_rel_pos_bias=True))
    report = load_pretrained_backbone(backbone, pretrained['ckpt'])
    assert list(report.missing) == []
    # F2: the per-token final norm of pretraining does not become the pooled norm (unilm's fc_norm starts fresh)
    assert sorted(dict(report.reinitialised)) == ['norm.bias', 'norm.weight']
    torch.testing.assert_close(backbone.norm.weight.detach(), torch.ones(TINY['embed_dims']))
    state = _state(pretrained['ckpt'])
    for k, v in backbone.state_dict().items():
        if 'relative_position_bias_table' not in k and not k.startswith('norm.'):
            torch.testing.assert_close(v, state['backbone.' + k])
    # the same weights in the official unilm v2 layout (top-level keys, cls_pt_layers.*, lm_head.*)
    official = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    official.update({k.replace('neck.', '', 1): v for k, v in state.items() if k.startswith('neck.')})
    official.update({k.replace('head.fc.', 'lm_head.', 1): v for k, v in state.items() if k.startswith('head.fc.')})
    assert any(k.startswith('cls_pt_layers.') for k in official)
    backbone2 = MODELS.build(dict(type='beitmm.BEiT', arch=TINY, img_size=64, use_rel_pos_bias=True))
    report = load_pretrained_backbone(backbone2, {'model': official})
    assert list(report.missing) == []
    for k, v in backbone.state_dict().items():
        torch.testing.assert_close(v, backbone2.state_dict()[k])


def test_finetune_from_v2_pretraining(pretrained, imagenet_info, tmp_path):
    cfg = tiny_cls_config(config_path('beitv2/beitv2-b_in1k.py'), imagenet_info['root'], str(tmp_path),
                          num_classes=len(imagenet_info['classes']), size=64)
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.65
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=pretrained['ckpt'])
    runner = build_runner(cfg)
    runner.model.init_weights()
    shared = _state(pretrained['ckpt'])['backbone.rel_pos_bias.relative_position_bias_table']
    torch.testing.assert_close(runner.model.backbone.blocks[1].attn.relative_position_bias_table.detach(), shared)
    runner.train()


def test_linear_probe_keeps_the_backbone_frozen(pretrained, imagenet_info, tmp_path):
    cfg = tiny_cls_config(config_path('beitv2/beitv2-b_linear_in1k.py'), imagenet_info['root'], str(tmp_path),
                          num_classes=len(imagenet_info['classes']), size=64)
    cfg.model.head.in_channels = 2 * TINY['embed_dims']
    cfg.model.neck.in_channels = TINY['embed_dims']
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=pretrained['ckpt'])
    runner = build_runner(cfg)
    runner.train()
    state = _state(pretrained['ckpt'])
    for k, v in runner.model.backbone.state_dict().items():  # unchanged by training
        if 'relative_position_bias_table' not in k:
            torch.testing.assert_close(v, state['backbone.' + k])
    assert 'accuracy/top1' in _log(str(tmp_path))


def test_segmentation_from_v2_pretraining(pretrained, ade20k_root, tmp_path):
    cfg = tiny_seg_config(config_path('beitv2/upernet_beitv2-b_ade20k.py'), ade20k_root, str(tmp_path), size=64)
    assert (cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.paramwise_cfg.layer_decay_rate) == (5e-5, 0.75)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=pretrained['ckpt'])
    runner = build_runner(cfg)
    runner.train()


def test_large_and_1600e_variants_follow_the_recipe():
    from mmengine.config import Config

    from beitmm.engine.config_fit import resolve_widths
    big = Config.fromfile(config_path('beitv2/beitv2-l_pretrain-1600e_in1k.py'))
    assert (big.model.neck.early_layers, big.model.neck.arch, big.model.backbone.drop_path_rate) == (21, 'large', 0.1)
    assert big.optim_wrapper.optimizer.betas == (0.9, 0.999) and big.train_cfg.max_epochs == 1600
    short = Config.fromfile(config_path('beitv2/beitv2-b_pretrain_in1k.py'))
    assert short.optim_wrapper.optimizer.betas == (0.9, 0.98) and short.model.backbone.drop_path_rate == 0.
    long_run = Config.fromfile(config_path('beitv2/beitv2-b_1600e-pt_in1k.py'))
    assert long_run.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.6
    seg_l = Config.fromfile(config_path('beitv2/upernet_beitv2-l_ade20k.py'))
    resolve_widths(seg_l)
    assert seg_l.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.9 and seg_l.model.neck.embed_dim == 1024
