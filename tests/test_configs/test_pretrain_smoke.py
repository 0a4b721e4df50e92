"""BEiT pretraining config on tiny unlabeled data, and the handoff of its checkpoint downstream."""
import glob
import os.path as osp

import pytest
import torch
from shrink import TINY, config_path, tiny_cls_config, tiny_pretrain_config, tiny_seg_config

from beitmm.engine.runner import build_runner


@pytest.fixture(scope='module')
def pretrained(unlabeled_root, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('pretrain'))
    cfg = tiny_pretrain_config(config_path('beit/beit-b_pretrain_in1k.py'), unlabeled_root, work)
    runner = build_runner(cfg)
    runner.train()
    ckpt = sorted(glob.glob(osp.join(work, '*.pth')))[-1]
    return dict(work=work, ckpt=ckpt, runner=runner)


def test_pretraining_logs_loss_and_mim_accuracy(pretrained):
    logs = glob.glob(osp.join(pretrained['work'], '*', '*.log'))
    text = open(logs[0]).read()
    assert 'loss:' in text and 'mim_acc:' in text
    state = torch.load(pretrained['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    assert 'backbone.rel_pos_bias.relative_position_bias_table' in state and 'backbone.mask_token' in state
    assert not any(k.startswith('target_generator.') for k in state)  # frozen tokenizer not saved


def test_pretraining_checkpoint_initialises_classification(pretrained, imagenet_info, tmp_path):
    cfg = tiny_cls_config(config_path('beit/beit-b_in1k.py'), imagenet_info['root'], str(tmp_path),
                          num_classes=len(imagenet_info['classes']), size=64)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=pretrained['ckpt'])
    runner = build_runner(cfg)
    runner.model.init_weights()
    state = torch.load(pretrained['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    shared = state['backbone.rel_pos_bias.relative_position_bias_table']
    for blk in runner.model.backbone.blocks:  # shared table expanded into every layer
        torch.testing.assert_close(blk.attn.relative_position_bias_table.detach(), shared)
    torch.testing.assert_close(runner.model.backbone.blocks[1].mlp.fc2.weight.detach(),
                               state['backbone.blocks.1.mlp.fc2.weight'])
    runner.train()


def test_pretraining_checkpoint_initialises_segmentation_512(pretrained, ade20k_root, tmp_path):
    """The 512 self-supervised ADE20K config: shared table expanded and resized (4x4 -> 6x6 grid here)."""
    cfg = tiny_seg_config(config_path('beit/upernet_beit-b_512_ade20k.py'), ade20k_root, str(tmp_path), size=96)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=pretrained['ckpt'])
    runner = build_runner(cfg)
    runner.model.init_weights()
    table = runner.model.backbone.blocks[0].attn.relative_position_bias_table
    assert table.shape == ((2 * 6 - 1) ** 2 + 3, TINY['num_heads'])
    state = torch.load(pretrained['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    shared = state['backbone.rel_pos_bias.relative_position_bias_table']
    torch.testing.assert_close(table[-3:].detach(), shared[-3:])  # cls rows carried over unchanged
    runner.train()
