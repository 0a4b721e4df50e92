"""MultiSourceDataset: fixed counts per stream, settings errors, exact resume, the 2-rank split, bad samples.

Resume is checked with 0 and 2 workers for map-style and WebDataset pairs; corrupt samples must be skipped, counted
and replaced deterministically.
"""
import copy
import itertools
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from beitmm.datasets.pretrain import MultiSourceDataset
from beitmm.registry import DATASETS
from beitmm.testing.shrink import ROOT
from beitmm.testing.synthetic_pretrain import shrink_pretrain_config
from beitmm.testing.vl import tiny_tokenizer

COUNTS = dict(image=2, text=3, pair=4)


def _cfg(data, webdataset=False, workers=0, counts=COUNTS):
    cfg = Config.fromfile(f'{ROOT}/configs/_base_/datasets/vl_pretrain_beit3.py')
    return shrink_pretrain_config(cfg, data, tiny_tokenizer('spm'), counts=counts, num_workers=workers,
                                  webdataset=webdataset)


def _steps(loader_cfg, n, skip=0):
    loader = Runner.build_dataloader(copy.deepcopy(loader_cfg), seed=0)
    loader.sampler.skip(skip)
    return list(itertools.islice(iter(loader), n))


def _same(a, b):
    assert a.keys() == b.keys()
    for stream in a:
        assert a[stream].keys() == b[stream].keys()
        for key in a[stream]:
            assert torch.equal(a[stream][key], b[stream][key]), (stream, key)


def test_counts_per_stream_per_step(pretrain_data):
    (step, ) = _steps(_cfg(pretrain_data).train_dataloader, 1)
    assert {k: len(v['index']) for k, v in step.items()} == COUNTS
    assert step['image']['img'].shape == (2, 3, 32, 32) and step['image']['img'].dtype == torch.uint8
    assert step['image']['mask'].shape == (2, 2, 2) and (step['image']['mask'].sum((1, 2)) == 2).all()  # 40%
    assert step['text']['text_ids'].shape == (3, 24) and step['pair']['mlm_labels'].shape == (4, 24)
    real = ~step['pair']['padding_mask']
    assert (step['pair']['mlm_labels'] != -100).sum() > (step['text']['mlm_labels'] != -100).sum()  # 50% vs 15%
    assert real.any()


@pytest.mark.parametrize('counts, match', [
    (dict(image=0, text=0, pair=0), 'sums to zero'), (dict(image=-1, text=2, pair=2), r"counts\['image'\]"),
    (dict(image=2, text=2, pair=2, audio=1), r"unknown stream.*audio"), (dict(image=1.5), r"counts\['image'\]")])
def test_bad_counts_name_the_setting(pretrain_data, counts, match):
    ds_cfg = _cfg(pretrain_data).train_dataloader.dataset
    with pytest.raises(ValueError, match=match):
        MultiSourceDataset(sources=ds_cfg.sources, counts=counts)
    with pytest.raises(ValueError, match='no dataset'):
        MultiSourceDataset(sources=dict(text=ds_cfg.sources.text), counts=dict(text=1, pair=2))
    with pytest.raises(ValueError, match=r"sources has stream\(s\) \['image'\] without a count"):
        MultiSourceDataset(sources=ds_cfg.sources, counts=dict(text=1, pair=2))


def test_fewer_shards_than_ranks_is_an_error(pretrain_data):
    ds_cfg = _cfg(pretrain_data, webdataset=True, counts=dict(image=0, text=0, pair=2)).train_dataloader.dataset
    ds_cfg.update(rank=3, world_size=4)
    with pytest.raises(ValueError, match='3 shard.*4 ranks'):
        DATASETS.build(ds_cfg)


def test_zero_count_drops_the_stream_without_building_it(pretrain_data):
    ds_cfg = _cfg(pretrain_data).train_dataloader.dataset
    ds_cfg.sources.image.data_root = '/nonexistent'  # never built
    ds = MultiSourceDataset(sources=ds_cfg.sources, counts=dict(image=0, text=2, pair=1))
    assert sorted(ds[0]) == ['pair', 'text']


@pytest.mark.parametrize('webdataset', [False, True], ids=['jsonl', 'webdataset'])
def test_resume_gives_the_remaining_batches_with_0_and_2_workers(pretrain_data, webdataset):
    ref = _steps(_cfg(pretrain_data, webdataset).train_dataloader, 8)  # 8 x 4 pairs: more than an epoch of 24
    two = _steps(_cfg(pretrain_data, webdataset, workers=2).train_dataloader, 8)
    for a, b in zip(ref, two, strict=True):  # the worker count does not change the data
        _same(a, b)
    for workers in (0, 2):
        resumed = _steps(_cfg(pretrain_data, webdataset, workers=workers).train_dataloader, 3, skip=5)
        for a, b in zip(ref[5:], resumed, strict=True):
            _same(a, b)
    pairs = torch.cat([s['pair']['index'] for s in ref[:6]])  # 24 = one epoch of pairs: each once
    assert sorted(pairs.tolist()) == sorted(set(pairs.tolist())) and len(pairs) == 24


@pytest.mark.parametrize('webdataset', [False, True], ids=['jsonl', 'webdataset'])
def test_two_ranks_split_disjoint_and_covering(pretrain_data, webdataset):
    ds_cfg = _cfg(pretrain_data, webdataset, counts=dict(image=2, text=3, pair=2)).train_dataloader.dataset
    seen = {}
    for rank in (0, 1):
        cfg = copy.deepcopy(ds_cfg)
        cfg.update(rank=rank, world_size=2)
        ds = DATASETS.build(cfg)
        steps = [ds.step(s, seed=0) for s in range(4)]  # text: 4 x 3 x 2 ranks = 24 = one epoch
        seen[rank] = {k: [int(x['index']) for s in steps for x in s[k]] for k in ('image', 'text', 'pair')}
    for stream, total in (('image', 16), ('text', 24)):
        a, b = seen[0][stream][:total // 2], seen[1][stream][:total // 2]
        assert not set(a) & set(b) and sorted(a + b) == list(range(total)), stream
    a, b = set(seen[0]['pair']), set(seen[1]['pair'])
    assert not a & b  # (WebDataset: shards split over ranks; map-style: interleaved positions)


def test_corrupt_pairs_are_skipped_counted_and_replaced_in_the_step(bad_pretrain_data):
    ds_cfg = _cfg(bad_pretrain_data, counts=dict(image=0, text=0, pair=4)).train_dataloader.dataset
    ds = DATASETS.build(ds_cfg)
    loader = ds.sources['pair'].pipeline.transforms[0]
    masker = next(t for t in ds.sources['pair'].pipeline.transforms if type(t).__name__ == 'MaskText')
    skipped0, empty0 = loader.num_skipped, masker.num_empty
    steps = [ds.step(s, seed=0) for s in range(6)]  # one epoch: each of the 3 bad pairs met once
    assert loader.num_skipped - skipped0 == 2 and masker.num_empty - empty0 == 1
    bad = {2, 9, 13}
    indices = [int(x['index']) for s in steps for x in s['pair']]
    assert len(indices) == 24 and not bad & set(indices)
    assert sorted(set(indices)) == sorted(set(range(24)) - bad)  # nothing else lost
    again = DATASETS.build(ds_cfg).step(3, seed=0)  # a fresh (resumed) dataset rebuilds the step exactly
    for x, y in zip(steps[3]['pair'], again['pair'], strict=True):
        assert all(torch.equal(x[k], y[k]) for k in x)


def test_webdataset_missing_image_member_is_skipped(bad_pretrain_data):
    ds_cfg = _cfg(bad_pretrain_data, webdataset=True, counts=dict(image=0, text=0, pair=4)).train_dataloader.dataset
    ds = DATASETS.build(ds_cfg)
    loader = ds.sources['pair'].pipeline.transforms[0]
    before = loader.num_skipped
    ids = [int(x['index']) for s in range(6) for x in ds.step(s, seed=0)['pair']]
    pairs = [(i >> 32) * 8 + (i & 0xFFFFFFFF) for i in ids]  # shard * 8 pairs + sample number in the shard
    assert loader.num_skipped - before == 2 and len(pairs) == 24
    assert sorted(set(pairs)) == sorted(set(range(24)) - {2, 9, 13})  # the bad ones replaced, nothing else lost


def _rank_worker(rank, data, port, out_dir):
    import json

    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    try:
        loader_cfg = _cfg(data, webdataset=True, counts=dict(image=2, text=3, pair=2)).train_dataloader
        loader = Runner.build_dataloader(loader_cfg, seed=None)  # the sampler seed is synchronised over ranks
        steps = list(itertools.islice(iter(loader), 4))
        out = {k: [i for s in steps for i in s[k]['index'].tolist()] for k in ('image', 'text', 'pair')}
        out['seed'] = loader.sampler.seed
        with open(osp.join(out_dir, f'{rank}.json'), 'w') as f:
            json.dump(out, f)
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_read_disjoint_covering_parts(pretrain_data, tmp_path):
    import json
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    mp.start_processes(_rank_worker, args=(pretrain_data, port, str(tmp_path)), nprocs=2, join=True,
                       start_method='fork')  # fork: the children need not import beitmm again
    r0, r1 = (json.load(open(tmp_path / f'{r}.json')) for r in (0, 1))
    assert r0['seed'] == r1['seed']
    assert sorted(r0['text'] + r1['text']) == list(range(24))  # 4 steps x 3 x 2 ranks: one epoch, split
    assert sorted(r0['image'] + r1['image']) == list(range(16))
    assert not set(r0['pair']) & set(r1['pair'])


def test_shards_can_feed_the_image_stream(pretrain_data):
    ds_cfg = _cfg(pretrain_data, counts=dict(image=3, text=0, pair=0)).train_dataloader.dataset
    ds_cfg.sources.image = dict(type='beitmm.WebDatasetPairs', shards=pretrain_data['shard_pattern'],
                                pipeline=ds_cfg.sources.image.pipeline)  # image-only shards work the same way
    step = DATASETS.build(ds_cfg).step(0, seed=0)
    assert list(step) == ['image'] and [s['img'].shape for s in step['image']] == [(3, 32, 32)] * 3


def test_one_process_equals_two_ranks_with_the_same_total_batch(pretrain_data):
    base = _cfg(pretrain_data, counts=dict(image=4, text=6, pair=4)).train_dataloader.dataset
    half = _cfg(pretrain_data, counts=dict(image=2, text=3, pair=2)).train_dataloader.dataset
    one = DATASETS.build(dict(base, rank=0, world_size=1))
    ranks = [DATASETS.build(dict(half, rank=r, world_size=2)) for r in (0, 1)]
    for step in (0, 5):  # step 5 is in the second epoch of the images
        whole = one.step(step, seed=0)
        parts = [ds.step(step, seed=0) for ds in ranks]
        for stream in ('image', 'text', 'pair'):
            mine = sorted(((int(s['index']), s) for p in parts for s in p[stream]), key=lambda t: t[0])
            ref = sorted(((int(s['index']), s) for s in whole[stream]), key=lambda t: t[0])
            assert [i for i, _ in mine] == [i for i, _ in ref]
            for (_, a), (_, b) in zip(mine, ref, strict=True):  # the same crops, patch masks and text masks
                assert all(torch.equal(a[k], b[k]) for k in a), stream
