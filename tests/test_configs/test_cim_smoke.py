"""CIM configs shrunk to tiny shapes: Runner training, and the enhancer checkpoint handed downstream.

The enhancer checkpoint goes to the classification (ViT-B, ResNet-50) and UperNet configs with zero missing
backbone keys.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.registry import MODELS
from beitmm.testing.shrink import TINY, config_path, shrink_mim_run, tiny_cls_config, tiny_seg_config

VOCAB = 64
TOKENIZER = dict(type='beitmm.DALLETokenizer', encoder_checkpoint=None, decoder_checkpoint=None, with_decoder=True,
                 n_hid=16, n_blk_per_group=1, vocab_size=VOCAB, n_init=16)
RESNET_WIDTH = dict(base_channels=8, stem_channels=8)  # ResNet-50 layout (same keys), 1/8 of the width


def tiny_cim_config(rel: str, data_root: str, work_dir: str, size: int = 64) -> Config:
    """A CIM config with 2-block generator / ViT enhancer (or a narrow ResNet-50), a tiny random dVAE, 1 epoch."""
    cfg = Config.fromfile(config_path(rel))
    cfg.work_dir = work_dir
    m = cfg.model
    m.generator.update(arch=TINY, img_size=size)
    m.generator_head.update(in_channels=TINY['embed_dims'], out_channels=VOCAB)
    m.tokenizer = dict(TOKENIZER)
    if m.backbone.type == 'beitmm.BEiT':
        m.backbone.update(arch=TINY, img_size=size)
        m.head.in_channels = TINY['embed_dims']
    else:
        m.backbone.update(norm_cfg=dict(type='BN', requires_grad=True), **RESNET_WIDTH)
        m.head.in_channels = 8 * 4 * 8  # base_channels * expansion 4 * 2 ** 3
    shrink_mim_run(cfg, data_root, size)
    cfg.train_dataloader.dataset.indices = 6  # 3 iterations
    return cfg


def _train(rel: str, root: str, work: str) -> dict:
    runner = build_runner(tiny_cim_config(rel, root, work))
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    after = runner.model.state_dict()
    ckpt = sorted(glob.glob(osp.join(work, 'epoch_*.pth')))[-1]
    log = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    return dict(runner=runner, ckpt=ckpt, log=log, before=before, after=after)


def _changed(run: dict, prefix: str) -> bool:
    return any(not torch.equal(run['before'][k], v) for k, v in run['after'].items()
               if k.startswith(prefix) and v.is_floating_point())


@pytest.fixture(scope='module')
def respix_vit(unlabeled_root, tmp_path_factory):
    return _train('cim/cim-respix_vit-b_300e_in1k.py', unlabeled_root, str(tmp_path_factory.mktemp('respix')))


@pytest.fixture(scope='module')
def respix_resnet(unlabeled_root, tmp_path_factory):
    return _train('cim/cim-respix_resnet50_300e_in1k.py', unlabeled_root, str(tmp_path_factory.mktemp('resnet')))


def _ckpt_state(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def test_respix_vit_trains_both_networks(respix_vit):
    for key in ('loss_gen:', 'gen_acc:', 'loss_respix:', 'replaced_ratio:'):
        assert key in respix_vit['log']
    assert _changed(respix_vit, 'generator.') and _changed(respix_vit, 'backbone.') and _changed(respix_vit, 'head.')
    state = _ckpt_state(respix_vit['ckpt'])
    assert not any(k.startswith('tokenizer.') for k in state)  # frozen dVAE never saved
    assert 'generator.mask_token' in state and 'backbone.mask_token' not in state


def test_revdet_vit_trains(unlabeled_root, tmp_path):
    run = _train('cim/cim-revdet_vit-b_300e_in1k.py', unlabeled_root, str(tmp_path))
    assert 'loss_revdet:' in run['log'] and 'revdet_acc:' in run['log']
    assert _changed(run, 'generator.') and _changed(run, 'backbone.')


def test_respix_resnet_trains(respix_resnet):
    assert 'loss_respix:' in respix_resnet['log'] and 'loss_gen:' in respix_resnet['log']
    assert _changed(respix_resnet, 'backbone.layer4.') and _changed(respix_resnet, 'generator.')


def test_vit_enhancer_initialises_classification(respix_vit, imagenet_info, tmp_path):
    """load_from route (CheckpointConvertHook): generator and ResPix keys dropped, enhancer loaded whole."""
    cfg = tiny_cls_config(config_path('cim/vit-b_cim-pt_in1k.py'), imagenet_info['root'], str(tmp_path),
                          num_classes=len(imagenet_info['classes']), size=64)
    cfg.model.backbone.init_cfg = None
    cfg.train_dataloader.dataset.indices = 4
    cfg.load_from = respix_vit['ckpt']
    runner = build_runner(cfg)
    runner.train()  # loads at the start of training
    state = _ckpt_state(respix_vit['ckpt'])
    model = runner.model
    shared = state['backbone.rel_pos_bias.relative_position_bias_table']
    # the 1-epoch fine-tune moved the weights; compare with a fresh load instead
    from beitmm.checkpoint import load_model_checkpoint
    loaded = load_model_checkpoint(model, respix_vit['ckpt'])
    backbone_keys = {k for k in model.state_dict() if k.startswith('backbone.')}
    # zero missing backbone keys; the pretraining norm is not the pooled norm (unilm's fc_norm starts fresh)
    assert backbone_keys - set(loaded) == {'backbone.norm.weight', 'backbone.norm.bias'}
    assert not any(k.startswith(('generator', 'tokenizer')) for k in loaded)
    for blk in model.backbone.blocks:
        torch.testing.assert_close(blk.attn.relative_position_bias_table.detach(), shared)
    torch.testing.assert_close(model.backbone.blocks[1].mlp.fc2.weight.detach(),
                               state['backbone.blocks.1.mlp.fc2.weight'])


def test_vit_enhancer_initialises_upernet(respix_vit, ade20k_root, tmp_path):
    """init_cfg route with prefix='backbone.': every backbone weight found, tables resized 4x4 -> 6x6."""
    rel = 'cim/upernet_vit-b_cim-pt-512_ade20k.py'
    init = Config.fromfile(config_path(rel)).model.backbone.init_cfg
    assert init.prefix == 'backbone.' and init.checkpoint.startswith('work_dirs/cim-respix_vit-b')
    cfg = tiny_seg_config(config_path(rel), ade20k_root, str(tmp_path), size=96)
    cfg.model.backbone.init_cfg = dict(init, checkpoint=respix_vit['ckpt'])
    runner = build_runner(cfg)
    runner.model.init_weights()  # raises IncompleteCheckpointError on any missing backbone weight
    state = _ckpt_state(respix_vit['ckpt'])
    table = runner.model.backbone.blocks[0].attn.relative_position_bias_table
    assert table.shape == ((2 * 6 - 1) ** 2 + 3, TINY['num_heads'])
    torch.testing.assert_close(table[-3:].detach(), state['backbone.rel_pos_bias.relative_position_bias_table'][-3:])
    torch.testing.assert_close(runner.model.backbone.patch_embed.proj.weight.detach(),
                               state['backbone.patch_embed.proj.weight'])


def test_resnet_enhancer_keys_are_mmpretrain_resnet50_keys():
    """Full-size check: the CIM ResNet-50 enhancer's keys are mmpretrain's ImageNet ResNet-50 backbone keys."""
    cim = Config.fromfile(config_path('cim/cim-respix_resnet50_300e_in1k.py')).model.backbone
    cls = Config.fromfile(config_path('cim/resnet50_cim-pt-rsb-a2-300e_in1k.py')).model.backbone
    cls.pop('init_cfg')
    shapes = [{k: v.shape for k, v in MODELS.build(dict(c, type='mmpretrain.ResNet')).state_dict().items()}
              for c in (cim, cls)]
    assert shapes[0] == shapes[1] and len(shapes[0]) > 300


def test_resnet_enhancer_initialises_mmpretrain_resnet50(respix_resnet, imagenet_info, tmp_path):
    cfg = Config.fromfile(config_path('cim/resnet50_cim-pt-rsb-a2-300e_in1k.py'))
    cfg.work_dir = str(tmp_path)
    cfg.model.backbone.update(norm_cfg=dict(type='BN', requires_grad=True), **RESNET_WIDTH)
    cfg.model.backbone.init_cfg.checkpoint = respix_resnet['ckpt']
    n = len(imagenet_info['classes'])
    cfg.model.head.update(in_channels=256, num_classes=n, topk=(1, ))
    cfg.data_preprocessor.num_classes = n
    cfg.model.train_cfg.augments = [dict(type='Mixup', alpha=0.1)]
    for key in ('train_dataloader', 'val_dataloader'):
        dl = cfg[key]
        dl.update(batch_size=2, num_workers=0, persistent_workers=False, sampler=dict(type='DefaultSampler',
                                                                                     shuffle=key == 'train_dataloader'))
        dl.dataset.update(data_root=imagenet_info['root'], indices=4)
        for t in dl.dataset.pipeline:
            if t['type'] == 'RandomResizedCrop':
                t['scale'] = 64
            elif t['type'] == 'ResizeEdge':
                t['scale'] = 72
            elif t['type'] == 'CenterCrop':
                t['crop_size'] = 64
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator = cfg.test_evaluator = dict(type='Accuracy', topk=(1, ))
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=1, convert_to_iter_based=True)]
    cfg.auto_scale_lr = dict(enable=False)
    runner = build_runner(cfg)
    runner.model.init_weights()
    state = _ckpt_state(respix_resnet['ckpt'])
    bb = runner.model.backbone.state_dict()
    missing = {k for k in bb if 'backbone.' + k not in state}
    assert missing == set()  # zero missing backbone keys
    for k, v in bb.items():
        torch.testing.assert_close(v, state['backbone.' + k], msg=k)
    runner.train()  # the mmpretrain RSB A2 recipe (LAMB, BCE, mixup) runs on the loaded enhancer
    assert 'accuracy/top1' in runner.val_loop.run()


@pytest.mark.parametrize('rel', ['demo/cim-respix_beit-tiny_demo_pretrain.py',
                                 'demo/cim-revdet_beit-tiny_demo_pretrain.py',
                                 'demo/cim-respix_resnet50-tiny_demo_pretrain.py'])
def test_demo_configs_take_a_step(rel):
    from mmengine.structures import BaseDataElement
    cfg = Config.fromfile(config_path(rel))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    crop = next(t for t in cfg.train_dataloader.dataset.pipeline if t['type'].endswith('TwoViewRandomResizedCrop'))
    grid = crop['size'] // cfg.model.generator.patch_size
    data = dict(inputs=[[torch.randint(0, 256, (3, crop['size'], crop['size']), dtype=torch.uint8)] * 2,
                        [torch.randint(0, 256, (3, crop['second_size'], crop['second_size']), dtype=torch.uint8)] * 2],
                data_samples=[BaseDataElement(mask=torch.rand(grid, grid) < 0.4) for _ in range(2)])
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert all(v.isfinite() for v in losses.values()) and 'loss_gen' in losses


def test_demo_enhancer_initialises_the_demo_classifier(tmp_path):
    torch.manual_seed(0)
    cim = MODELS.build(Config.fromfile(config_path('demo/cim-respix_beit-tiny_demo_pretrain.py')).model)
    ckpt = str(tmp_path / 'epoch_4.pth')
    torch.save(dict(state_dict=cim.state_dict()), ckpt)
    cfg = Config.fromfile(config_path('demo/beit-tiny_demo-cim-pt_cls.py'))
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # the classifier config's own scope, not leaked
        classifier = MODELS.build(cfg.model)
    classifier.init_weights()  # raises on any missing backbone weight
    shared = cim.backbone.rel_pos_bias.relative_position_bias_table
    for blk in classifier.backbone.blocks:
        torch.testing.assert_close(blk.attn.relative_position_bias_table, shared)
    torch.testing.assert_close(classifier.backbone.blocks[3].mlp.fc1.weight, cim.backbone.blocks[3].mlp.fc1.weight)
