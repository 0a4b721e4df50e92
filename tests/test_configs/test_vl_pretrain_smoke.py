"""Multimodal pretraining configs train through the Runner on tiny shapes with the multi-source loader.

BEiT-3 masked data modeling, VL-BEiT, and VLMo stage 2 (from a BEiT stage-1 checkpoint) then stage 3 (from the
stage-2 checkpoint): each shipped config with its model shrunk (beitmm.testing.pretrain_models) and its loader
pointed at generated data in the real on-disk layouts (beitmm.testing.synthetic_pretrain).
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.models.tokenizers.quantizer import find_quantizers
from beitmm.registry import MODELS
from beitmm.testing.pretrain_models import shrink_pretrain_model, tiny_beit_backbone
from beitmm.testing.shrink import config_path
from beitmm.testing.synthetic_pretrain import make_pretrain_data, shrink_pretrain_config
from beitmm.testing.vl import tiny_tokenizer


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return make_pretrain_data(str(tmp_path_factory.mktemp('pretrain')), num_pairs=8, num_images=8, num_texts=8,
                              img_size=32, num_shards=2)


def _runner(name, data, work, kind, counts, **model):
    cfg = Config.fromfile(config_path(name))
    shrink_pretrain_config(cfg, data, tiny_tokenizer(kind), img_size=32, counts=counts)
    shrink_pretrain_model(cfg, str(work))
    cfg.model.update(model)
    return build_runner(cfg)


def _logged(runner):
    return runner.message_hub.log_scalars


@pytest.mark.parametrize('name, kind', [('beit3/beit3-b_pretrain_vl-corpus.py', 'spm'),
                                        ('vlbeit/vlbeit-b_pretrain_vl-corpus.py', 'wordpiece')])
def test_masked_data_modeling_configs_train_three_streams(name, kind, data, tmp_path):
    runner = _runner(name, data, tmp_path, kind, dict(image=2, text=2, pair=2))
    runner.train()
    logs = _logged(runner)
    for key in ('loss_image', 'loss_text', 'loss_pair', 'acc_image', 'acc_text', 'acc_pair_text'):
        assert f'train/{key}' in logs, sorted(logs)
        assert torch.isfinite(torch.tensor(logs[f'train/{key}'].current()))
    assert 'train/acc_pair_image' in logs  # both mask and predict the pair's image too (pair_mim=True)
    hook = next(h for h in runner.hooks if type(h).__name__ == 'CodebookHealthHook')
    assert hook.history and hook.history[-1]['assignments'] > 0  # the VQ-KD targets were counted
    assert list(find_quantizers(runner.model)) == ['target_generator.quantize']
    assert osp.exists(osp.join(str(tmp_path), 'iter_2.pth'))


def test_vlmo_stage2_then_stage3_through_the_runner(data, tmp_path):
    torch.manual_seed(0)
    beit = MODELS.build(tiny_beit_backbone())
    beit.init_weights()
    stage1 = str(tmp_path / 'beit_stage1.pth')
    torch.save(dict(state_dict={'backbone.' + k: v for k, v in beit.state_dict().items()}), stage1)
    runner = _runner('vlmo/vlmo-b_pretrain-stage2_text.py', data, tmp_path / 's2', 'wordpiece',
                     dict(image=0, text=3, pair=0), init_cfg=dict(type='Pretrained', checkpoint=stage1))
    runner.train()
    assert 'train/loss_textmlm' in _logged(runner) and 'train/loss_itc' not in _logged(runner)
    vision = runner.model.backbone.transformer.blocks[0].mlp_imag.fc1.weight
    torch.testing.assert_close(vision, beit.state_dict()['blocks.0.mlp.fc1.weight'])  # frozen through training
    stage2 = str(tmp_path / 's2' / 'iter_2.pth')
    runner = _runner('vlmo/vlmo-b_pretrain-stage3_pairs.py', data, tmp_path / 's3', 'wordpiece',
                     dict(image=0, text=0, pair=3), init_cfg=dict(type='Pretrained', checkpoint=stage2))
    runner.train()
    logs = _logged(runner)
    for key in ('loss_itc', 'loss_itm', 'loss_mlm', 'itc_acc', 'itc_vl_acc', 'itm_acc', 'mlm_acc', 'logit_scale',
                'logit_vl_scale'):
        assert f'train/{key}' in logs, sorted(logs)
    assert 0 <= logs['train/itm_acc'].current() <= 100
