"""ELECTRA and CIM with the three sampling settings train through the Runner at tiny sizes, logging the curves.

Text: every configs/electra config (plain / hardness-aware / focal / both, BertEncoder and BEiT-3's text branch).
CIM: the RevDet and ResPix hardness-aware and focal configs; the enhancer checkpoint still loads downstream.
"""
import glob
import json
import os.path as osp

import pytest
from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.testing.electra import shrink_electra_config, write_electra_corpus
from beitmm.testing.shrink import config_path

from .test_cim_smoke import tiny_cim_config

TEXT = sorted(osp.relpath(p, config_path('')) for p in glob.glob(config_path('electra/*.py')))
CIM = ['cim/cim-revdet-hardness_vit-b_300e_in1k.py', 'cim/cim-revdet-focal_vit-b_300e_in1k.py',
       'cim/cim-respix-hardness_vit-b_300e_in1k.py', 'cim/cim-respix-focal_vit-b_300e_in1k.py']
CURVES = {'resample_correct', 'disc_replaced', 'disc_kept'}


def _scalars(work: str) -> list:
    path = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))[0]
    return [json.loads(line) for line in open(path) if line.strip()]


def test_every_sampling_setting_has_a_text_config():
    for setting in ('plain', 'hardness', 'focal'):
        assert any(setting in n and 'beit3' not in n for n in TEXT), setting
    assert any('beit3' in n for n in TEXT)


@pytest.mark.parametrize('name', TEXT)
def test_text_electra_trains_and_logs_the_curves(name, tmp_path):
    write_electra_corpus(tmp_path)
    cfg = shrink_electra_config(Config.fromfile(config_path(name)), str(tmp_path), str(tmp_path / 'work'))
    runner = build_runner(cfg)
    model = runner.model
    assert (model.hardness_head is not None) == ('hardness' in name)
    assert model.generator_loss.gamma == (1.0 if 'focal' in name else 0.)
    runner.train()
    rec = _scalars(cfg.work_dir)[-1]
    assert CURVES <= set(rec) and ('hardness_err' in rec) == ('hardness' in name)
    assert 0 <= rec['resample_correct'] <= 1
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_2.pth'))


@pytest.mark.parametrize('name', CIM)
def test_cim_sampling_configs_train(name, unlabeled_root, tmp_path):
    cfg = tiny_cim_config(name, unlabeled_root, str(tmp_path / 'work'))
    runner = build_runner(cfg)
    assert (runner.model.hardness_head is not None) == ('hardness' in name)
    assert (type(runner.model.generator_head.loss_module).__name__ == 'FocalMLMLoss') == ('focal' in name)
    runner.train()
    rec = _scalars(cfg.work_dir)[-1]
    assert CURVES <= set(rec) and ('hardness_err' in rec) == ('hardness' in name)


def test_cim_mask_ratio_zero_is_refused_naming_the_setting():
    from beitmm.registry import TRANSFORMS
    with pytest.raises(ValueError, match='num_masking_patches must be in'):
        TRANSFORMS.build(dict(type='beitmm.BlockwiseMaskGenerator', input_size=8, num_masking_patches=0))
