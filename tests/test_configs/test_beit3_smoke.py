"""BEiT-3 vision configs: Runner smoke tests with the arch override, checkpoint handoff, layer decay."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.models.backbones import BEiT3
from beitmm.testing.shrink import TINY, config_path, tiny_cls_config, tiny_seg_config


@pytest.fixture(scope='module')
def beit3_checkpoint(tmp_path_factory):
    """A tiny BEiT-3 (both experts) saved as unilm does: ``beit3.``-prefixed keys under ``model``, a head beside."""
    torch.manual_seed(0)
    model = BEiT3(arch=TINY, img_size=32, vocab_size=64)
    model.init_weights()
    state = {'beit3.' + k: v for k, v in model.state_dict().items()}
    state['vision_head.weight'] = torch.randn(TINY['embed_dims'], TINY['embed_dims'])
    path = str(tmp_path_factory.mktemp('beit3') / 'beit3_tiny_patch16_32.pth')
    torch.save({'model': state}, path)
    return path, model


@pytest.mark.parametrize('name', ['beit3/beit3-b_in1k.py', 'beit3/beit3-l_in1k.py'])
def test_classification_with_the_tiny_arch(name, imagenet_info, tmp_path):
    cfg = tiny_cls_config(config_path(name), imagenet_info['root'], str(tmp_path),
                          num_classes=len(imagenet_info['classes']))
    cfg.model.backbone.update(arch='tiny')  # --cfg-options model.backbone.arch=tiny
    cfg.model.head.in_channels = Config.fromfile(config_path(name)).model.head.in_channels  # as shipped
    assert cfg.model.head.in_channels == dict(follows='backbone')  # refitted to the tiny width
    cfg.train_dataloader.dataset.indices = 8
    runner = build_runner(cfg)
    assert runner.model.head.fc.in_features == 192 and runner.model.backbone.num_layers == 12
    runner.train()
    metrics = runner.val_loop.run()
    assert 0 <= metrics['accuracy/top1'] <= 100


@pytest.mark.parametrize('name', ['beit3/upernet_beit3-b_ade20k.py', 'beit3/upernet_beit3-l_ade20k.py'])
def test_segmentation_with_the_tiny_arch(name, ade20k_root, tmp_path):
    cfg = tiny_seg_config(config_path(name), ade20k_root, str(tmp_path), size=32)
    shipped = Config.fromfile(config_path(name)).model
    cfg.model.backbone.update(arch='tiny', out_indices=(3, 5, 7, 11))
    cfg.model.neck.embed_dim = shipped.neck.embed_dim  # as shipped: dict(follows='backbone'), refitted
    cfg.model.decode_head.in_channels = shipped.decode_head.in_channels
    cfg.model.auxiliary_head.in_channels = shipped.auxiliary_head.in_channels
    runner = build_runner(cfg)
    assert runner.model.neck.upsample_4x[0].in_channels == 192
    runner.train()
    assert glob.glob(osp.join(str(tmp_path), 'iter_2.pth'))


def test_unilm_checkpoint_initialises_classification(beit3_checkpoint, imagenet_info, tmp_path):
    path, source = beit3_checkpoint
    cfg = tiny_cls_config(config_path('beit3/beit3-b_in1k.py'), imagenet_info['root'], str(tmp_path),
                          num_classes=len(imagenet_info['classes']))
    cfg.model.backbone.update(img_size=64, init_cfg=dict(type='Pretrained', checkpoint=path))
    runner = build_runner(cfg)
    runner.model.init_weights()  # IncompleteCheckpointError on any missing weight
    backbone = runner.model.backbone
    torch.testing.assert_close(backbone.encoder.layers[1].ffn.A.fc1.weight.detach(),
                               source.encoder.layers[1].ffn.A.fc1.weight.detach())
    assert backbone.encoder.embed_positions.A.weight.shape[0] == 3 + 16  # resized from 2x2 to 4x4 patches
    assert not hasattr(backbone, 'text_embed')  # vision-only: the language branch was dropped
    runner.train()
    groups = {n: g for g in runner.optim_wrapper.optimizer.param_groups for n in g['param_names']}
    assert groups['backbone.encoder.embed_positions.A.weight']['layer_id'] == 0
    assert groups['backbone.encoder.embed_positions.A.weight']['weight_decay'] == 0.0  # unilm no_weight_decay
    assert groups['backbone.vision_embed.cls_token']['weight_decay'] == 0.0
    assert groups['backbone.encoder.layers.1.ffn.A.fc1.weight']['layer_id'] == 2
    assert groups['backbone.encoder.layers.1.ffn.A.fc1.weight']['weight_decay'] == 0.05


def test_unilm_checkpoint_initialises_segmentation(beit3_checkpoint, ade20k_root, tmp_path):
    path, source = beit3_checkpoint
    cfg = tiny_seg_config(config_path('beit3/upernet_beit3-b_ade20k.py'), ade20k_root, str(tmp_path), size=64)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=path)
    runner = build_runner(cfg)
    runner.model.init_weights()
    torch.testing.assert_close(runner.model.backbone.vision_embed.proj.weight.detach(),
                               source.vision_embed.proj.weight.detach())
    runner.train()


def test_unilm_checkpoint_through_load_from_and_init_model(beit3_checkpoint, imagenet_info, tmp_path):
    from beitmm.apis import init_model
    path, source = beit3_checkpoint
    cfg = tiny_cls_config(config_path('beit3/beit3-b_in1k.py'), imagenet_info['root'], str(tmp_path),
                          num_classes=len(imagenet_info['classes']))
    cfg.model.backbone.update(img_size=64, init_cfg=None)
    cfg.load_from = path  # the official file as it is: wrapper, prefix, language branch and head converted
    runner = build_runner(cfg)
    runner.load_or_resume()
    expected = source.encoder.layers[1].self_attn.q_proj.A.weight.detach()
    torch.testing.assert_close(runner.model.backbone.encoder.layers[1].self_attn.q_proj.A.weight.detach(), expected)
    assert runner.model.backbone.encoder.embed_positions.A.weight.shape[0] == 3 + 16  # resized to 4x4 patches
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.load_from = None
    cfg.dump(cfg_path)
    model = init_model(cfg_path, checkpoint=path)
    torch.testing.assert_close(model.backbone.encoder.layers[1].self_attn.q_proj.A.weight.detach(), expected)
    torch.testing.assert_close(model.backbone.vision_embed.proj.weight.detach(),
                               source.vision_embed.proj.weight.detach())
