"""Exact resume of ELECTRA and CIM with hardness-aware sampling.

The masks and replacement draws come from torch's global stream, which the checkpoint restores (ResumeStateHook),
so a run resumed mid-way ends bit-identical to the uninterrupted one.
"""
import os.path as osp

import pytest
from mmengine.config import Config

from beitmm.testing.electra import shrink_electra_config, write_electra_corpus
from beitmm.testing.shrink import config_path

from .helpers import assert_same_training_state, cim_config, train_and_load


def _config(family: str, root: str, work: str) -> Config:
    if family == 'text':
        cfg = Config.fromfile(config_path('electra/electra-small_hardness-focal_text.py'))
        shrink_electra_config(cfg, root, work, batch_size=2, iters=6)
    else:
        cfg = cim_config(root, work, rel='cim/cim-revdet-hardness_vit-b_300e_in1k.py')
    cfg.randomness = dict(seed=0)
    return cfg



@pytest.mark.parametrize('family', ['text', 'cim'])
def test_resume_with_hardness_sampling_is_exact(family, unlabeled_root, tmp_path):
    root = unlabeled_root
    if family == 'text':
        write_electra_corpus(tmp_path)
        root = str(tmp_path)
    reference = train_and_load(_config(family, root, str(tmp_path / 'reference')))
    cfg = _config(family, root, str(tmp_path / 'resumed'))
    cfg.resume, cfg.load_from = True, osp.join(str(tmp_path / 'reference'), 'iter_3.pth')
    resumed = train_and_load(cfg)
    assert resumed['meta']['iter'] == reference['meta']['iter'] >= 6
    assert_same_training_state(reference, resumed)
