"""BEiT pretraining config on tiny unlabeled data, and the handoff of its checkpoint downstream."""
import glob
import os.path as osp

import pytest
import torch

from beitmm.engine.runner import build_runner
from beitmm.testing.shrink import TINY, config_path, tiny_cls_config, tiny_pretrain_config, tiny_seg_config


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


def test_demo_pretraining_with_kmeans_tokens(unlabeled_root, tmp_path):
    """configs/demo/beit-tiny_demo_pretrain.py: BEiT tokens from a k-means vocabulary fitted on the images."""
    from mmengine.config import Config

    from beitmm.models.tokenizers.kmeans import KMeansTokenizer
    torch.manual_seed(0)
    tok = KMeansTokenizer(patch_size=8, vocab_size=16, pool=4)
    tok.fit([torch.rand(8, 3, 32, 32)], iters=3)
    km = str(tmp_path / 'km.pth')
    torch.save(dict(state_dict=dict(codebook=tok.codebook.clone())), km)
    cfg = Config.fromfile(config_path('demo/beit-tiny_demo_pretrain.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.backbone.update(arch=TINY, img_size=32)
    cfg.model.head.update(in_channels=TINY['embed_dims'], out_channels=16)
    cfg.model.target_generator.update(vocab_size=16, checkpoint=km)
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'].endswith('TwoViewRandomResizedCrop'):
            t.update(size=32, second_size=32)
        elif t['type'].endswith('BlockwiseMaskGenerator'):
            t.update(input_size=4, num_masking_patches=6, min_num_patches=2)
    cfg.train_dataloader.update(batch_size=4, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.data_root = unlabeled_root
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=1)]
    runner = build_runner(cfg)
    runner.train()
    logs = open(glob.glob(osp.join(cfg.work_dir, '*', '*.log'))[0]).read()
    assert 'mim_acc:' in logs
    state = torch.load(glob.glob(osp.join(cfg.work_dir, '*.pth'))[0], map_location='cpu',
                       weights_only=True)['state_dict']
    assert not any(k.startswith('target_generator.') for k in state)
    assert state['head.fc.weight'].shape == (16, TINY['embed_dims'])


def test_pretraining_checkpoint_initialises_demo_linear_segmentation(pretrained, ade20k_root, tmp_path):
    """configs/demo/linear_beit-tiny_demo_seg.py: the backbone and one 1x1 conv, initialised from the checkpoint."""
    cfg = tiny_seg_config(config_path('demo/linear_beit-tiny_demo_seg.py'), ade20k_root, str(tmp_path), size=64)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=pretrained['ckpt'])
    c = TINY['embed_dims']
    runner = build_runner(cfg)
    runner.model.init_weights()
    model = runner.model
    assert not model.with_neck
    head = {k: tuple(v.shape) for k, v in model.decode_head.named_parameters()}
    assert head == {'conv_seg.weight': (4, c, 1, 1), 'conv_seg.bias': (4, )}  # linear: nothing else to learn
    state = torch.load(pretrained['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    torch.testing.assert_close(model.backbone.blocks[1].attn.qkv.weight.detach(),
                               state['backbone.blocks.1.attn.qkv.weight'])
    runner.train()
    logs = open(glob.glob(osp.join(str(tmp_path), '*', '*.log'))[0]).read()
    assert 'mIoU' in logs
