"""GLUE / polarity configs train, validate and test through the Runner at tiny size (GLUE TSVs in the real layout)."""
import math

import pytest
from mmengine.config import Config

from beitmm.datasets.real_files import MISSING_HINT, polarity_file
from beitmm.engine.runner import build_runner
from beitmm.testing.glue import write_glue_data
from beitmm.testing.shrink import config_path
from beitmm.testing.vl import tiny_tokenizer


def _shrink(cfg, data_root, work_dir):
    cfg.model.backbone.update(arch='tiny', vocab_size=160, max_position_embeddings=40, init_cfg=None,
                              embedding_size=None)
    cfg.model.update(tokenizer=tiny_tokenizer('wordpiece'), max_len=16)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(batch_size=4, num_workers=0, persistent_workers=False)
        if cfg[key].dataset.type == 'beitmm.GLUEDataset':
            cfg[key].dataset.data_root = data_root
        else:
            cfg[key].dataset.indices = 8
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.param_scheduler[0].end = cfg.param_scheduler[1].begin = 0.5  # 0.3 of 2 iterations rounds to 0
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    return cfg


@pytest.mark.parametrize('name,keys', [
    ('glue/bert-b_glue-sst2.py', ['glue-sst2/accuracy']),
    ('glue/bert-b_glue-mrpc.py', ['glue-mrpc/f1', 'glue-mrpc/accuracy']),
    ('glue/electra-small_glue-stsb.py', ['glue-stsb/pearson', 'glue-stsb/spearman']),
    ('glue/bert-b_glue-mnli.py', ['glue-mnli-mm/accuracy']),
    ('glue/minilm-l6_polarity.py', ['glue-polarity/accuracy'])])
def test_glue_config_trains_and_scores(tmp_path, name, keys):
    if 'polarity' in name and polarity_file() is None:
        pytest.skip(f'gensim test data missing: {MISSING_HINT}')
    write_glue_data(tmp_path / 'glue_data', n=8)
    cfg = _shrink(Config.fromfile(config_path(name)), str(tmp_path / 'glue_data'), str(tmp_path / 'work'))
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.test()
    assert sorted(metrics) == sorted(keys)
    for k in keys:
        assert math.isnan(metrics[k]) or -100. <= metrics[k] <= 100.
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
