"""Exact resume of the pretraining models that draw random numbers themselves.

VLMo stage 3 samples its ITM hard negatives (``torch.multinomial`` on the ITC similarities) and BEiT-3 masked data
modeling drops paths (stochastic depth 0.1, the config's value), both from torch's global generator. Each trains
its shipped config shrunk for 4 iterations on the multi-source loader, then again resumed from iteration 2: the
final model, optimizer and meta state must be bit-identical.
"""
import os.path as osp

import pytest
from mmengine.config import Config

from beitmm.testing.pretrain_models import shrink_pretrain_model
from beitmm.testing.shrink import config_path
from beitmm.testing.synthetic_pretrain import make_pretrain_data, shrink_pretrain_config
from beitmm.testing.vl import tiny_tokenizer

from .helpers import assert_same_training_state, train_and_load

CASES = dict(vlmo_stage3=('vlmo/vlmo-b_pretrain-stage3_pairs.py', 'wordpiece', dict(image=0, text=0, pair=3)),
             beit3_mdm=('beit3/beit3-b_pretrain_vl-corpus.py', 'spm', dict(image=2, text=2, pair=2)))


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return make_pretrain_data(str(tmp_path_factory.mktemp('vlp') / 'data'), num_pairs=8, num_images=8, num_texts=8)


def _config(case: str, data: dict, work: str) -> Config:
    name, kind, counts = CASES[case]
    cfg = Config.fromfile(config_path(name))
    shrink_pretrain_config(cfg, data, tiny_tokenizer(kind), counts=counts)
    shrink_pretrain_model(cfg, work, max_iters=4)
    cfg.model.backbone.drop_path_rate = 0.1
    if case == 'vlmo_stage3':
        cfg.model.init_cfg = None  # from scratch: the draws, not the init, are under test
    cfg.default_hooks.checkpoint.update(interval=2, max_keep_ckpts=-1)
    return cfg



@pytest.mark.parametrize('case', sorted(CASES))
def test_pretraining_resume_is_exact(case, data, tmp_path):
    reference = train_and_load(_config(case, data, str(tmp_path / 'reference')))
    assert reference['meta']['iter'] == 4
    cfg = _config(case, data, str(tmp_path / 'resumed'))
    cfg.resume, cfg.load_from = True, osp.join(str(tmp_path / 'reference'), 'iter_2.pth')
    resumed = train_and_load(cfg)
    assert resumed['meta']['iter'] == 4
    assert_same_training_state(reference, resumed)
