"""VL task configs: each shipped config trains and evaluates through the Runner with the tiny arch on generated data.

The data are in the released layouts; ``model.backbone.arch=tiny`` and ``*.dataset.data_root=`` are set as a user would.
"""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.testing.shrink import config_path
from beitmm.testing.synthetic_vl import make_vl_data
from beitmm.testing.vl import TINY_BEIT3, shrink_vl_config
from tests.test_datasets.test_vl.test_nocaps import make_nocaps

VQA = ['beit3/beit3-b_vqav2.py', 'vlmo/vlmo-b_vqav2.py']
NLVR2 = ['beit3/beit3-b_nlvr2.py', 'vlmo/vlmo-b_nlvr2.py']
RETRIEVAL = ['beit3/beit3-b_coco-retrieval.py', 'beit3/beit3-b_flickr30k-retrieval.py',
             'vlmo/vlmo-b_coco-retrieval.py']
LARGE = ['beit3/beit3-l_coco-captioning.py', 'beit3/beit3-l_vqav2.py', 'beit3/beit3-l_nlvr2.py',
         'beit3/beit3-l_coco-retrieval.py', 'beit3/beit3-l_flickr30k-retrieval.py',
         'beit3/beit3-l_nocaps-captioning.py']


@pytest.fixture(scope='module')
def vl_data(tmp_path_factory):
    return make_vl_data(str(tmp_path_factory.mktemp('vl') / 'vl'), num_train_images=16, num_val_images=10,
                        img_size=32, min_answer_count=1)


def _run(name: str, root: str, tmp_path, **model) -> dict:
    cfg = Config.fromfile(config_path(name))
    cfg.model.backbone.arch = 'tiny'  # --cfg-options model.backbone.arch=tiny
    shrink_vl_config(cfg, root, str(tmp_path))
    cfg.model.update(model)
    runner = build_runner(cfg)
    assert runner.model.backbone.embed_dims == 192
    runner.train()
    return runner.val_loop.run()


@pytest.mark.parametrize('name', VQA)
def test_vqa_configs_train_and_report_the_official_accuracy(name, vl_data, tmp_path):
    metrics = _run(name, vl_data['coco_root'], tmp_path, num_labels=len(vl_data['answers']))
    assert 0 <= metrics['vqa/accuracy'] <= 100


@pytest.mark.parametrize('name', NLVR2)
def test_nlvr2_configs_train_and_evaluate(name, vl_data, tmp_path):
    metrics = _run(name, vl_data['nlvr2_root'], tmp_path)
    assert 0 <= metrics['accuracy/top1'] <= 100


@pytest.mark.parametrize('name', RETRIEVAL)
def test_retrieval_configs_train_and_report_recalls(name, vl_data, tmp_path):
    root = vl_data['flickr30k_root' if 'flickr' in name else 'coco_root']
    metrics = _run(name, root, tmp_path)
    keys = {'i2t/tr_r1', 'i2t/tr_r5', 'i2t/tr_r10', 't2i/ir_r1', 't2i/ir_r5', 't2i/ir_r10', 't2i/r_mean'}
    assert keys <= set(metrics), sorted(metrics)
    assert 0 <= metrics['t2i/r_mean'] <= 100


def test_captioning_config_trains_and_scores_generated_captions(vl_data, tmp_path):
    metrics = _run('beit3/beit3-b_coco-captioning.py', vl_data['coco_root'], tmp_path)
    assert {'caption/Bleu_4', 'caption/METEOR', 'caption/ROUGE_L', 'caption/CIDEr'} <= set(metrics), sorted(metrics)
    assert 0 <= metrics['caption/CIDEr'] <= 1000


def test_nocaps_trains_on_coco_validates_on_nocaps_val_and_writes_test_predictions(vl_data, tmp_path):
    """COCO captioning training, CIDEr on NoCaps val (references in the file), test: the EvalAI file only."""
    nocaps = make_nocaps(tmp_path / 'nocaps', num_val=3, num_test=2)
    cfg = Config.fromfile(config_path('beit3/beit3-b_nocaps-captioning.py'))
    assert cfg.optim_wrapper.optimizer.lr == 1e-5  # get_started_for_captioning.md:98 (large: 8e-6, checked below)
    cfg.model.backbone.arch = TINY_BEIT3  # 2 layers: this test is about the data wiring, not the width
    shrink_vl_config(cfg, vl_data['coco_root'], str(tmp_path))
    for key in ('val_dataloader', 'test_dataloader'):
        cfg[key].dataset.update(data_root=nocaps, indices=None)
    out = str(tmp_path / 'nocaps_test_predictions.json')
    cfg.test_evaluator.file_path = out
    cfg.val_evaluator.scorers = ('CIDEr', )  # METEOR's Java start-up is the captioning smoke test's business
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    assert 0 <= metrics['caption/CIDEr'] <= 1000
    assert runner.test() == {} and osp.isfile(out)
    assert sorted(p['image_id'] for p in json.load(open(out))) == [0, 1]


@pytest.mark.parametrize('name', LARGE)
def test_large_configs_are_the_base_recipe_at_large_width(name, vl_data, tmp_path):
    """The large configs build (at the tiny arch) on the base pipeline, with their own recipe values."""
    cfg = Config.fromfile(config_path(name))
    assert cfg.model.backbone.arch == 'large' and 'large' in cfg.model.backbone.init_cfg.checkpoint
    base = Config.fromfile(config_path(name.replace('-l_', '-b_')))
    assert cfg.optim_wrapper.optimizer.lr < base.optim_wrapper.optimizer.lr
    if 'retrieval' in name:  # unilm: 96 per GPU on 2 x 16 GPUs, base 192 on 16: the same total 3072
        assert (cfg.train_dataloader.batch_size, base.train_dataloader.batch_size) == (96, 192)
        assert 96 * 32 == 192 * 16 == cfg.auto_scale_lr.base_batch_size
    cfg.model.backbone.arch = 'tiny'
    root = vl_data['nlvr2_root' if 'nlvr2' in name else 'flickr30k_root' if 'flickr' in name else 'coco_root']
    shrink_vl_config(cfg, root, str(tmp_path))
    if 'vqav2' in name:
        cfg.model.num_labels = len(vl_data['answers'])
    runner = build_runner(cfg)
    assert runner.model.backbone.num_layers == 12
