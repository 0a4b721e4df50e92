"""Exact resume of a Runner training on the multi-source pretraining loader (images + texts + pairs per step).

A toy model whose update depends on every value and position of every stream's tensors trains 6 iterations; runs
resumed from iteration 2 (0 workers, JSON-lines pairs) and 3 (2 workers, WebDataset pairs) end with bit-identical
weights and optimizer state, so they saw exactly the batches of the uninterrupted run.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.registry import MODELS as MMENGINE_MODELS

from beitmm.testing.shrink import ROOT
from beitmm.testing.synthetic_pretrain import make_pretrain_data, shrink_pretrain_config
from beitmm.testing.vl import tiny_tokenizer

from .helpers import assert_same_training_state, load, train_and_load


@MMENGINE_MODELS.register_module(name='MultiStreamProbe', force=True)  # mmengine's registry: no beitmm contract
class MultiStreamProbe(BaseModel):
    """Sums a learned weighting of position-weighted means of every stream's tensors.

    Position weights make a flipped image, a moved mask or reordered tokens change the update, not only a changed
    mean.
    """

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.linspace(0.1, 1.0, 9))

    @staticmethod
    def _positional(x: torch.Tensor) -> torch.Tensor:
        x = x.float().flatten()
        return (x * torch.linspace(0.5, 1.5, x.numel())).mean()

    def forward(self, image=None, text=None, pair=None, mode='loss'):
        f = self._positional
        feats = [f(image['img']) / 255, f(image['mask']), f(image['index'] % 97),
                 f(text['masked_text_ids']), f(text['mlm_labels'] > 0),
                 f(pair['img']) / 255, f(pair['mask']), f(pair['masked_text_ids']), f(pair['index'] % 97)]
        return dict(loss=torch.tanh((self.w * torch.stack(feats)).sum() / 100) ** 2)


def _config(data, work_dir, workers=0, webdataset=False, interval=6):
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/vl_pretrain_beit3.py'))
    cfg.merge_from_dict(Config.fromfile(osp.join(ROOT, 'configs/_base_/default_runtime.py')).to_dict())
    shrink_pretrain_config(cfg, data, tiny_tokenizer('spm'), counts=dict(image=2, text=3, pair=4),
                           num_workers=workers, webdataset=webdataset)
    cfg.model = dict(type='mmengine.MultiStreamProbe')
    cfg.optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=6)
    cfg.default_hooks.checkpoint.update(interval=interval, by_epoch=False, max_keep_ckpts=-1)  # a save: ~1 s
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor = dict(by_epoch=False, window_size=1)
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.work_dir = work_dir
    return cfg


def _skips_counted(runner) -> None:
    """Pair 5 is cut short: skipped (once an epoch), counted, logged at the end by DataHealthHook."""
    assert runner.message_hub.get_info('corrupt_images_skipped') in (1, 2)  # 24 pairs: 1 or 2 meetings


@pytest.fixture(scope='module')
def streams_data(tmp_path_factory):
    return make_pretrain_data(str(tmp_path_factory.mktemp('streams') / 'data'), num_pairs=16, num_images=8,
                              num_texts=12, num_shards=2, corrupt_pairs={5: 'truncated'})


@pytest.mark.parametrize('webdataset, workers, at', [(False, 0, 2), (True, 2, 3)],
                         ids=['jsonl-0-workers', 'webdataset-2-workers'])
def test_multisource_resume_is_exact(streams_data, tmp_path, webdataset, workers, at):
    ref_dir = str(tmp_path / 'ref')
    ref = train_and_load(_config(streams_data, ref_dir, webdataset=webdataset, interval=at), _skips_counted)
    ckpt = f'iter_{at}.pth'
    cfg = _config(streams_data, str(tmp_path / 'resumed'), workers=workers, webdataset=webdataset)
    cfg.resume, cfg.load_from = True, osp.join(ref_dir, ckpt)
    resumed = train_and_load(cfg)
    assert resumed['meta']['iter'] == 6
    assert_same_training_state(ref, resumed)
    assert not torch.equal(ref['state_dict']['w'], load(osp.join(ref_dir, ckpt))['state_dict']['w'])
