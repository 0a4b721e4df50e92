"""s2s-ft configs: each algorithm and data layout trains, validates and tests through the Runner at tiny sizes.

The data are written in the layouts users have (line-aligned .source / .target, s2s-ft JSON lines, UniLM's SQuAD QG
files); the test run writes one prediction per input line and scores ROUGE / BLEU against the local targets.
"""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.testing.shrink import config_path
from beitmm.testing.vl import corpus, shrink_s2s_config

CONFIGS = ['s2s/s2s-ft-pseudo-masked_unilm1.2-b_xsum.py', 's2s/s2s-ft-masked_unilm1.2-b_xsum.py',
           's2s/s2s-ft-causal_unilm1.2-b_xsum.py', 's2s/s2s-ft-pseudo-masked_minilm-l12_xsum.py',
           's2s/s2s-ft-pseudo-masked_unilm1.2-b_cnndm.py', 's2s/s2s-ft-masked_unilm1-l_squad-qg.py',
           's2s/s2s-ft-pseudo-masked_beit3-b-text_xsum.py', 's2s/s2s-ft-pseudo-masked_vlmo-b-text_xsum.py',
           's2s/s2s-ft-pseudo-masked_unilm2-b_xsum.py', 's2s/s2s-ft-pseudo-masked_xlmr-b_xsum.py']


def _write(root, fmt: str) -> None:
    lines = corpus(24, seed=3)
    pairs = [(s, ' '.join(reversed(s.split()[:5]))) for s in lines]
    for split, part in (('train', pairs[:12]), ('val', pairs[12:18]), ('dev', pairs[12:18]), ('test', pairs[18:])):
        if fmt == 'qg':
            (root / f'{split}.pa.tok.txt').write_text(''.join(f'{s} [SEP] {t.split()[0]}\n' for s, t in part))
            (root / f'{split}.q.tok.txt').write_text(''.join(f'{t} ?\n' for _, t in part))
        else:
            (root / f'{split}.source').write_text(''.join(f'{s}\n' for s, _ in part))
            (root / f'{split}.target').write_text(''.join(f'{t}\n' for _, t in part))


@pytest.mark.parametrize('name', CONFIGS)
def test_s2s_config_trains_and_writes_one_prediction_per_line(name, tmp_path):
    data = tmp_path / 'data'
    data.mkdir()
    fmt = 'qg' if 'squad' in name else 'lines'
    _write(data, fmt)
    cfg = Config.fromfile(config_path(name))
    shrink_s2s_config(cfg, str(data), str(tmp_path / 'work'))
    out = str(tmp_path / 'pred.txt')
    ref = 'test.q.tok.txt' if fmt == 'qg' else 'test.target'
    cfg.test_evaluator.update(output_file=out, ref_file=str(data / ref))
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    runner = build_runner(cfg)
    assert runner.model.algorithm == ('causal' if 'causal' in name else 'masked' if 's2s-ft-masked' in name
                                      else 'pseudo-masked')
    runner.train()
    metrics = runner.test()
    # the official protocols: qg/eval_on_unilm_tokenized_ref.py for QG, evaluations/eval_for_*.py for summaries
    expected = ('bleu4', 'meteor', 'rougeL') if fmt == 'qg' else ('rouge1', 'rouge2', 'rougeL')
    assert {f's2s/{k}' for k in expected} == set(metrics), sorted(metrics)
    assert len(open(out).read().splitlines()) == 6
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_2.pth'))


def test_s2s_json_lines_load_as_s2s_ft_writes_them(tmp_path):
    """s2s-ft's own JSON lines (pre-tokenized lists) feed the same config."""
    path = tmp_path / 'train.json'
    line = json.dumps(dict(src=['a', 'red', 'cir', '##cle'], tgt=['cir', '##cle']))
    path.write_text('\n'.join([line] * 4))
    from beitmm.registry import DATASETS
    ds = DATASETS.build(dict(type='beitmm.Seq2SeqDataset', data_root=str(tmp_path), ann_file='train.json',
                             pipeline=[]))
    assert ds[0]['src'] == 'a red circle' and ds[0]['tgt'] == 'circle' and ds[3]['line'] == 3


def test_squad_qg_config_is_the_unilm_v1_recipe():
    """S2 / S11: unilm-v1 README's QG command through run_seq2seq.py's arithmetic.

    --new_segment_ids: 6 type rows, s2s segments 4 / 5; --train_batch_size 32 / --gradient_accumulation_steps 2 on
    4 GPUs: 32 pairs a step; t_total = int(ceil(N / 16) * 10 / 2) (run_seq2seq.py:296-298), warm-up 10%.
    """
    import math
    cfg = Config.fromfile(config_path('s2s/s2s-ft-masked_unilm1-l_squad-qg.py'))
    assert cfg.model.backbone.type_vocab_size == 6
    assert (cfg.model.source_type_id, cfg.model.target_type_id) == (4, 5)
    assert cfg.train_dataloader.batch_size * 4 == cfg.auto_scale_lr.base_batch_size == 32
    t_total = int(math.ceil(75722 / 16) * 10 / 2)
    warmup = math.ceil(0.1 * t_total)  # warmup_linear: x < 0.1 ramps up
    assert cfg.train_cfg.max_iters == t_total == 23665
    assert [s['end'] for s in cfg.param_scheduler] == [warmup, t_total]
    assert cfg.test_evaluator.protocol == 'qg' and cfg.model.num_beams == 1


def test_unilm2_xsum_config_is_the_s2s_ft_readme_recipe():
    """s2s-ft README "XSum with unilm2-base-uncased", value by value.

    4 GPUs x 8 x 2 accumulation, 1000 / 48k optimizer steps (2 mmengine iterations each), lr 7e-5, word drop 0.4,
    720 / 48 tokens, 768 positions; beam 8, lp 0.9, min_len 1, the 3-gram ban ignoring ".", decode batch 24; the
    encoder has UniLM v2's relative position bias.
    """
    cfg = Config.fromfile(config_path('s2s/s2s-ft-pseudo-masked_unilm2-b_xsum.py'))
    m, bb = cfg.model, cfg.model.backbone
    assert (m.max_source_len, m.max_target_len, m.target_mask_prob) == (720, 48, 0.4)
    assert bb.max_position_embeddings == 720 + 48 and bb.rel_pos_bins > 0 and bb.max_rel_pos > 0
    assert (m.num_beams, m.length_penalty, m.min_len, m.no_repeat_ngram_size) == (8, 0.9, 1, 3)
    assert tuple(m.ngram_ignore_words) == ('.', ) and cfg.test_dataloader.batch_size == 24
    accumulate = cfg.optim_wrapper.accumulative_counts
    assert cfg.train_dataloader.batch_size * 4 * accumulate == cfg.auto_scale_lr.base_batch_size == 64
    assert cfg.optim_wrapper.optimizer.lr == 7e-5
    assert [s['end'] for s in cfg.param_scheduler] == [1000 * accumulate, 48000 * accumulate]
    assert cfg.train_cfg.max_iters == 48000 * accumulate
    assert cfg.default_hooks.checkpoint.interval == 1500 * accumulate  # --save_steps 1500
    assert 'unilm2-base-uncased' in bb.init_cfg.checkpoint and 'unilm2' in m.tokenizer.vocab_file
