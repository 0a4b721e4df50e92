"""Exact resume for the VL and seq2seq training families whose models draw random numbers themselves.

BEiT-3 captioning (which caption tokens are masked, 80/10/10), VLMo retrieval with ITM (hard negatives sampled from
the contrastive similarities) and s2s-ft pseudo-masked fine-tuning (pseudo-token corruption, word drop) all draw from
torch's global generator. Each trains its real config shrunk, 2 epochs x 4 iterations, then again resumed from the
mid-epoch checkpoint of iteration 2: the final model, optimizer, scheduler and meta state must be bit-identical.
"""
import os.path as osp

import pytest
from mmengine.config import Config

from beitmm.testing.shrink import config_path
from beitmm.testing.synthetic_vl import make_vl_data
from beitmm.testing.vl import corpus, shrink_s2s_config, shrink_vl_config

from .helpers import assert_same_training_state, train_and_load


@pytest.fixture(scope='module')
def vl_root(tmp_path_factory):
    return make_vl_data(str(tmp_path_factory.mktemp('vl') / 'vl'), num_train_images=4, num_val_images=5,
                        img_size=32, min_answer_count=1)['coco_root']


def _s2s_data(root) -> str:
    lines = corpus(12, seed=5)
    for split in ('train', 'val', 'test'):
        (root / f'{split}.source').write_text(''.join(f'{s}\n' for s in lines[:8]))
        (root / f'{split}.target').write_text(''.join(' '.join(s.split()[:3]) + '\n' for s in lines[:8]))
    return str(root)


def _config(family: str, data: str, work: str) -> Config:
    if family == 's2s':
        cfg = Config.fromfile(config_path('s2s/s2s-ft-pseudo-masked_unilm1.2-b_xsum.py'))
        shrink_s2s_config(cfg, data, work, batch_size=2, num_beams=1)
        cfg.train_cfg = dict(type='beitmm.ResumableEpochBasedTrainLoop', max_epochs=2, val_interval=10)
    else:
        name = 'beit3/beit3-b_coco-captioning.py' if family == 'caption' else 'vlmo/vlmo-b_coco-retrieval.py'
        cfg = Config.fromfile(config_path(name))
        cfg.model.backbone.arch = 'tiny'
        shrink_vl_config(cfg, data, work, batch_size=2, train_items=8)
        if family == 'retrieval':
            cfg.model.update(itm_loss_weight=1.0)
            cfg.train_cfg = dict(type='beitmm.ResumableEpochBasedTrainLoop', max_epochs=2, val_interval=10)
        cfg.train_cfg.update(max_epochs=2, val_interval=10)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='beitmm.AtomicCheckpointHook', by_epoch=False, interval=1,
                                        max_keep_ckpts=10)
    cfg.log_processor = dict(by_epoch=True)
    return cfg



@pytest.mark.parametrize('family', ['caption', 'retrieval', 's2s'])
def test_resume_is_exact(family, vl_root, tmp_path):
    data = _s2s_data(tmp_path) if family == 's2s' else vl_root
    reference = train_and_load(_config(family, data, str(tmp_path / 'reference')))
    assert reference['meta']['iter'] == 8
    cfg = _config(family, data, str(tmp_path / 'resumed'))
    cfg.resume, cfg.load_from = True, osp.join(str(tmp_path / 'reference'), 'iter_2.pth')
    resumed = train_and_load(cfg)
    assert resumed['meta']['iter'] == 8
    assert_same_training_state(reference, resumed)
