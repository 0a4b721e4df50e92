"""MaskDistill configs: Runner smoke test at tiny shapes, every unified-view variant, handoff downstream."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from beitmm.engine.runner import build_runner
from beitmm.registry import MODELS
from beitmm.testing.shrink import TINY, config_path, shrink_mim_run, tiny_cls_config, tiny_seg_config

TEACHER = dict(embed_dims=32, num_layers=1, num_heads=2)
CLIP_FILE = {'visual.conv1.weight': (32, 3, 16, 16), 'visual.class_embedding': (32, ), 'visual.proj': (32, 24),
             'visual.positional_embedding': (17, 32), 'visual.ln_pre.weight': (32, ), 'visual.ln_pre.bias': (32, ),
             'visual.ln_post.weight': (32, ), 'visual.ln_post.bias': (32, ), 'logit_scale': ()}
for _n, _s in {'ln_1.weight': (32, ), 'ln_1.bias': (32, ), 'ln_2.weight': (32, ), 'ln_2.bias': (32, ),
               'attn.in_proj_weight': (96, 32), 'attn.in_proj_bias': (96, ), 'attn.out_proj.weight': (32, 32),
               'attn.out_proj.bias': (32, ), 'mlp.c_fc.weight': (128, 32), 'mlp.c_fc.bias': (128, ),
               'mlp.c_proj.weight': (32, 128), 'mlp.c_proj.bias': (32, )}.items():
    CLIP_FILE['visual.transformer.resblocks.0.' + _n] = _s


def shrink_mim(cfg: Config, size: int = 64, patch: int = 16) -> Config:
    """Tiny student and teacher; teacher checkpoints removed (tests pass their own)."""
    cfg.model.backbone.update(arch=TINY, img_size=size, patch_size=patch)
    cfg.model.head.in_channels = TINY['embed_dims']
    tg = cfg.model.target_generator
    teacher = tg.get('teacher')
    if teacher is None:
        cfg.model.head.out_channels = patch * patch * 3
    elif teacher.type == 'beitmm.BEiT':
        teacher.update(arch=TINY, img_size=size)
        cfg.model.head.out_channels = TINY['embed_dims']
    else:
        out = 24 if teacher.type == 'beitmm.CLIPViT' else 32
        arch = dict(TEACHER, output_dims=24) if teacher.type == 'beitmm.CLIPViT' else dict(TEACHER)
        teacher.update(arch=arch, img_size=size, checkpoint=None)
        cfg.model.head.out_channels = out
    tg.pop('teacher_checkpoint', None)
    return cfg


def loss_step(cfg: Config, size: int = 64, patch: int = 16) -> dict:
    model = MODELS.build(cfg.model)
    model.init_weights()
    grid = size // patch
    views = [[torch.randint(0, 256, (3, size, size), dtype=torch.uint8) for _ in range(2)] for _ in range(2)]
    mask = torch.zeros(grid, grid, dtype=torch.bool)
    mask[1:3, 1:3] = True
    data = model.data_preprocessor(dict(inputs=views, data_samples=[BaseDataElement(mask=mask)] * 2), True)
    return model(**data, mode='loss')


@pytest.fixture(scope='module')
def pretrained(unlabeled_root, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('maskdistill'))
    torch.manual_seed(0)
    clip = {k: torch.randn(s) * 0.1 for k, s in CLIP_FILE.items()}
    torch.save(clip, osp.join(work, 'clip_tiny.pth'))  # full CLIP state dict layout, `visual.` prefix
    cfg = shrink_mim(Config.fromfile(config_path('maskdistill/maskdistill_clip-b16_vit-b_300e_in1k.py')))
    cfg.model.target_generator.teacher.checkpoint = osp.join(work, 'clip_tiny.pth')
    cfg.work_dir = work
    shrink_mim_run(cfg, unlabeled_root, size=64, second_size=64)
    runner = build_runner(cfg)
    runner.train()
    ckpt = sorted(glob.glob(osp.join(work, 'epoch_*.pth')))[-1]
    return dict(work=work, ckpt=ckpt, runner=runner, clip=clip)


def test_pretraining_runs_and_saves_the_student_only(pretrained):
    text = open(glob.glob(osp.join(pretrained['work'], '*', '*.log'))[0]).read()
    assert 'loss:' in text
    teacher = pretrained['runner'].model.target_generator.teacher
    torch.testing.assert_close(teacher.proj, pretrained['clip']['visual.proj'])  # still the loaded teacher
    state = torch.load(pretrained['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    assert 'backbone.rel_pos_bias.relative_position_bias_table' in state and 'backbone.mask_token' in state
    assert state['head.fc.weight'].shape == (24, TINY['embed_dims'])
    assert not any(k.startswith('target_generator.') for k in state)


@pytest.mark.parametrize('name', [
    'maskdistill_dino-b16_vit-b_300e_in1k.py', 'maskdistill_pixel_vit-b_300e_in1k.py',
    'maskdistill-no-norm_clip-b16_vit-b_300e_in1k.py', 'maskdistill-mse_clip-b16_vit-b_300e_in1k.py',
    'maskdistill-cosine_clip-b16_vit-b_300e_in1k.py', 'maskfeat-style_dino-b16_vit-b_300e_in1k.py',
    'maskdistill_clip-l14_vit-l_300e_in1k.py'])
def test_unified_view_variants_by_config(name):
    cfg = shrink_mim(Config.fromfile(config_path('maskdistill/' + name)))
    losses = loss_step(cfg)
    assert set(losses) == {'loss'} and torch.isfinite(losses['loss']) and losses['loss'] > 0


def test_huge_variant_with_patch_14():
    cfg = shrink_mim(Config.fromfile(config_path('maskdistill/maskdistill_clip-l14_vit-h_300e_in1k.py')),
                     size=56, patch=14)
    cfg.model.target_generator.teacher.patch_size = 14
    assert torch.isfinite(loss_step(cfg, size=56, patch=14)['loss'])


def test_beitmm_checkpoint_as_teacher(pretrained):
    cfg = shrink_mim(Config.fromfile(config_path('maskdistill/maskdistill_beit-b_vit-b_300e_in1k.py')))
    cfg.model.target_generator.teacher.update(use_rel_pos_bias=False, use_shared_rel_pos_bias=True)
    cfg.model.target_generator.teacher_checkpoint = pretrained['ckpt']
    model = MODELS.build(cfg.model)
    state = torch.load(pretrained['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    torch.testing.assert_close(model.target_generator.teacher.blocks[1].mlp.fc1.weight,
                               state['backbone.blocks.1.mlp.fc1.weight'])
    assert torch.isfinite(loss_step(cfg)['loss'])


def test_checkpoint_initialises_classification(pretrained, imagenet_info, tmp_path):
    cfg = tiny_cls_config(config_path('maskdistill/vit-b_maskdistill-pt_in1k.py'), imagenet_info['root'],
                          str(tmp_path), num_classes=len(imagenet_info['classes']), size=64)
    assert cfg.data_preprocessor.mean == [123.675, 116.28, 103.53]
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=pretrained['ckpt'])
    runner = build_runner(cfg)
    runner.model.init_weights()  # raises IncompleteCheckpointError on any missing backbone key
    state = torch.load(pretrained['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    shared = state['backbone.rel_pos_bias.relative_position_bias_table']
    backbone = runner.model.backbone
    for blk in backbone.blocks:
        torch.testing.assert_close(blk.attn.relative_position_bias_table.detach(), shared)
    for k, v in backbone.state_dict().items():
        if 'relative_position_bias_table' not in k and not k.startswith('norm.'):
            torch.testing.assert_close(v, state['backbone.' + k], msg=k)
    torch.testing.assert_close(backbone.norm.weight.detach(), torch.ones_like(backbone.norm.weight))  # fresh fc_norm
    runner.train()


def test_checkpoint_initialises_segmentation(pretrained, ade20k_root, tmp_path):
    cfg = tiny_seg_config(config_path('maskdistill/upernet_vit-b_maskdistill-pt-512_ade20k.py'), ade20k_root,
                          str(tmp_path), size=64)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=pretrained['ckpt'])
    runner = build_runner(cfg)
    runner.model.init_weights()
    state = torch.load(pretrained['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    backbone = runner.model.backbone
    for k, v in backbone.state_dict().items():
        expect = state['backbone.rel_pos_bias.relative_position_bias_table'] \
            if 'relative_position_bias_table' in k else state['backbone.' + k]
        torch.testing.assert_close(v, expect, msg=k)
    runner.train()
