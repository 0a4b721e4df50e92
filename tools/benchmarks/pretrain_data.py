"""Time the multi-source pretraining loader: steps per second by pair layout, and the tar header walk of a resume.

Usage::

    python tools/analysis_tools/benchmark.py pretrain-data --batch-size 32 --img-size 64

Writes synthetic pretraining data (25 x batch pairs in 4 WebDataset shards and as JSON lines + folder, as many
images, twice as many texts: 800 / 800 / 1600 at the default batch 32) to a temporary folder, then reports, as the
median of ``--repeats`` timings of this process' CPU time:

- one ``beitmm.MultiSourceDataset`` step of ``batch`` images + texts + pairs (``configs/_base_/datasets/
  vl_pretrain_beit3.py`` shrunk to ``--img-size``, a tiny SentencePiece), pairs from JSON lines vs WebDataset;
- the header walk a resumed WebDataset stream does, per sample: beitmm's tar reader vs Python's ``tarfile``
  (the reference), and a walk over shards counted before (skipped whole).
"""
import statistics
import tarfile
import tempfile
import time


def _cpu(fn, repeats: int) -> float:
    times = []
    for _ in range(max(repeats, 1)):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def run_pretrain_data(args) -> None:
    """Print the loader timings (see the module doc).

    Args:
        args: benchmark.py's arguments (``batch_size``: samples of each stream per step, ``img_size``, ``repeats``).
    """
    from mmengine.config import Config

    from beitmm.datasets.pretrain import WebDatasetPairs, collate_streams
    from beitmm.datasets.pretrain.tar_reader import scan_shard
    from beitmm.registry import DATASETS
    from beitmm.testing.shrink import ROOT
    from beitmm.testing.synthetic_pretrain import make_pretrain_data, shrink_pretrain_config
    from beitmm.testing.vl import tiny_tokenizer
    n, size = args.batch_size, args.img_size
    with tempfile.TemporaryDirectory() as tmp:
        pairs = 25 * n
        data = make_pretrain_data(f'{tmp}/data', num_pairs=pairs, num_images=pairs, num_texts=2 * pairs,
                                  img_size=size, num_shards=4)
        print(f'\npretrain-data: {n} images + {n} texts + {n} pairs per step, {size} px, one process '
              f'(median CPU time of {args.repeats})')
        for layout in ('jsonl', 'webdataset'):
            cfg = Config.fromfile(f'{ROOT}/configs/_base_/datasets/vl_pretrain_beit3.py')
            shrink_pretrain_config(cfg, data, tiny_tokenizer('spm'), img_size=size,
                                   counts=dict(image=n, text=n, pair=n), webdataset=layout == 'webdataset')
            ds = DATASETS.build(cfg.train_dataloader.dataset)
            collate_streams(ds[0])
            steps = iter(range(1, 10 ** 6))
            sec = _cpu(lambda: collate_streams(ds[next(steps)]), args.repeats)  # noqa: B023
            print(f'  step, pairs from {layout:10s} {sec * 1000:8.1f} ms  {3 * n / sec:8.0f} samples/s')
        shards = data['shards']

        def ours():
            return sum(1 for s, path in enumerate(shards) for _ in scan_shard(path, s))

        def reference():
            count = 0
            for path in shards:
                with tarfile.open(path) as tf:
                    count += len({m.name.split('.', 1)[0] for m in tf.getmembers() if m.isfile()})
            return count
        assert ours() == reference() == pairs
        us_ours, us_ref = (_cpu(f, args.repeats) / pairs * 1e6 for f in (ours, reference))
        src = WebDatasetPairs(data['shard_pattern'])
        src.refs(pairs - 1, 1, 0, 0, 1)  # the first epoch counts the shards
        skip = _cpu(lambda: WebDatasetPairs.refs(src, pairs * 20, 1, 0, 0, 1), 1)
        print(f'  header walk (resume): beitmm {us_ours:.1f} us/sample, tarfile {us_ref:.1f} us/sample '
              f'({us_ref / us_ours:.1f}x); 19 more epochs of counted shards: {skip * 1000:.1f} ms')
