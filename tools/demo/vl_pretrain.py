"""The VL pretraining demo (``python tools/demo.py --task vl-pretrain``): BEiT-3 MDM, then VQA and retrieval.

VQA and retrieval are fine-tuned from the pretrained backbone and from scratch with the same budget, over seeds.
Stages (each a ``tools/train.py`` run or a tool; logs in demo_out/vl_pretrain/*.log): the VL demo's data and
SentencePiece vocabulary (``tools/misc/make_demo_data.py --only vl``, ``tools/misc/train_text_tokenizer.py``); the
pretraining data (``beitmm.testing.synthetic_pretrain``: other scenes than the fine-tuning ones, their captions,
images alone and texts alone); a k-means visual vocabulary of its images (``tools/misc/fit_kmeans_tokenizer.py``);
masked data modeling of the tiny BEiT-3 (configs/demo/beit3-tiny_demo_pretrain.py); then the VL demo's VQA and
retrieval fine-tunings (configs/demo/beit3-tiny_demo_{vqa,retrieval}.py) from the pretrained backbone and from
scratch, each with every seed (``--jobs 2`` runs two at a time). It prints both, with the spread over the seeds.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
from functools import partial
from typing import Dict, List

from .stages import config_value, epoch_schedule, load_text, rel, run_parallel, run_stage, say, train_stage
from .vl import make_vl_data

PRETRAIN_CFG = 'configs/demo/beit3-tiny_demo_pretrain.py'
CFG = {task: f'configs/demo/beit3-tiny_demo_{task}.py' for task in ('vqa', 'retrieval')}
METRIC = {'vqa': ('VQA acc. (official)', 'vqa/accuracy'), 'retrieval': ('R mean (TR/IR@1,5,10)', 't2i/r_mean')}


def add_vl_pretrain_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the VL pretraining demo."""
    group.add_argument('--vlp-pairs', type=int, default=2000, help='generated pretraining pairs (default 2000)')
    group.add_argument('--vlp-iters', type=int, default=None, help='pretraining steps (default: the config, 600)')
    group.add_argument('--vlp-seeds', type=int, nargs='+', default=[0, 1], help='fine-tuning seeds (default 0 1)')
    group.add_argument('--vlp-epochs', type=int, nargs=2, default=(3, 3), metavar=('VQA', 'RETRIEVAL'),
                       help='fine-tuning epochs, the same from pretrained and from scratch (default 3 3)')


def _finetune_config(out: str, task: str, checkpoint: str) -> str:
    """A config file in ``out`` that is the demo config of ``task`` with the backbone loaded from ``checkpoint``."""
    path = osp.join(out, f'{task}_from_pretrained.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = [{osp.abspath(CFG[task])!r}]\n"
                "model = dict(backbone=dict(init_cfg=dict(\n"
                f"    _delete_=True, type='Pretrained', checkpoint={checkpoint!r})))\n")
    return path


def run_vl_pretrain(args: argparse.Namespace) -> None:
    """Generate the data, pretrain, fine-tune from pretrained and from scratch per seed, print the table.

    Args:
        args: Parsed demo options.
    """
    out, py = osp.join(args.out, 'vl_pretrain'), sys.executable
    vl, pre = osp.join(args.data, 'vl'), osp.join(args.data, 'vl_pretrain')
    os.makedirs(out, exist_ok=True)
    say(f'vl-pretrain task: load average {load_text()} on {os.cpu_count()} cores; logs in {rel(out)}/*.log')
    say('1/5 data: the VL demo\'s VQAv2 / Karpathy-layout fine-tuning sets and vocabulary; '
        f'{args.vlp_pairs} pretraining pairs + as many images + {2 * args.vlp_pairs} texts of other scenes')
    spm = make_vl_data(args, out, train=400, val=100, nlvr2=(8, 8))
    n = args.vlp_pairs
    run_stage('pretraining data', [py, '-c', 'from beitmm.testing.synthetic_pretrain import make_pretrain_data;'
                                   f'make_pretrain_data({pre!r}, num_pairs={n}, num_images={n}, '
                                   f'num_texts={2 * n}, img_size=64, num_shards=2, seed=7, overwrite=True)'],
              osp.join(out, 'pretrain_data.log'), threads=args.threads)
    say('2/5 k-means visual vocabulary (256 words of 8x8 patches) of the pretraining images')
    kmeans = osp.join(pre, 'kmeans_256.pth')
    run_stage('visual vocabulary', [py, 'tools/misc/fit_kmeans_tokenizer.py', osp.join(pre, 'images'), kmeans,
                                    '--patch-size', '8', '--vocab-size', '256', '--view-size', '64'],
              osp.join(out, 'kmeans.log'), threads=args.threads)
    iters = args.vlp_iters or config_value(PRETRAIN_CFG, 'train_cfg.max_iters')
    say(f'3/5 masked data modeling of the tiny BEiT-3: {iters} steps of 16 images + 16 texts + 16 pairs')
    opts = [f'model.target_generator.checkpoint={kmeans}', f'text_tokenizer.model_file={spm}',
            f'train_cfg.max_iters={iters}', f'default_hooks.checkpoint.interval={iters}',
            f'param_scheduler.0.end={min(100, iters // 2)}', f'param_scheduler.1.begin={min(100, iters // 2)}',
            f'param_scheduler.1.end={iters}']
    for stream in ('image', 'text', 'pair'):
        opts.append(f'train_dataloader.dataset.sources.{stream}.data_root={pre}')
    for stream in ('text', 'pair'):
        step = 0 if stream == 'text' else 3
        opts.append(f'train_dataloader.dataset.sources.{stream}.pipeline.{step}.tokenizer.model_file={spm}')
    pretrained = train_stage(args, 'mdm pretraining', PRETRAIN_CFG, osp.join(out, 'pretrain'), opts,
                             evaluate=False)
    last = next((r for r in reversed(pretrained['records']) if r.mode == 'train'), None)
    say(f'4/5 fine-tuning VQA and retrieval from the pretrained backbone and from scratch, seeds {args.vlp_seeds}')
    calls: Dict[tuple, partial] = {}
    for task, epochs in zip(CFG, args.vlp_epochs, strict=True):
        data_opts = [f'{k}.dataset.data_root={vl}/coco' for k in ('train_dataloader', 'val_dataloader',
                                                                  'test_dataloader')]
        data_opts += [f'model.tokenizer.model_file={spm}', f'train_cfg.val_interval={epochs}',
                      f'default_hooks.checkpoint.interval={epochs}', *epoch_schedule(epochs, 1)]
        if task == 'vqa':
            with open(osp.join(vl, 'coco/vqa/answer2label.txt'), encoding='utf-8') as f:
                data_opts.append(f'model.num_labels={sum(1 for line in f if line.strip())}')
        for init in ('pretrained', 'scratch'):
            cfg = _finetune_config(out, task, pretrained['checkpoint']) if init == 'pretrained' else CFG[task]
            for seed in args.vlp_seeds:
                calls[(task, init, seed)] = partial(
                    train_stage, args, f'{task} {init} s{seed}', cfg, osp.join(out, f'{task}_{init}_s{seed}'),
                    data_opts + [f'randomness.seed={seed}'], max_epochs=epochs)
    runs = dict(zip(calls, run_parallel(list(calls.values()), args.jobs), strict=True))
    say('5/5 results')
    table = print_table(runs, args.vlp_seeds, last.values if last else {}, pretrained['seconds'])
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(dict(table=table, pretrain_seconds=pretrained['seconds'], pretrain_last=last.values if last else {},
                       runs={'/'.join(map(str, k)): {m: v for m, v in r.items() if m not in ('records', 'checkpoint')}
                             for k, r in runs.items()}), f, indent=2)


def _spread(values: List[float]) -> str:
    mean = statistics.mean(values)
    half = (max(values) - min(values)) / 2
    return f'{mean:6.2f} +- {half:4.2f}'


def print_table(runs: Dict[tuple, dict], seeds: List[int], last: Dict[str, float], seconds: float) -> dict:
    """Print pretrained vs scratch per task (mean +- half range over the seeds, and each seed); return the table."""
    print(f'\n  VL pretraining demo: tiny BEiT-3 (4 layers, width 96, 64 px), masked data modeling {seconds:.0f}s, '
          'then the same fine-tuning budget from it and from scratch')
    if last:
        shown = ', '.join(f'{k} {v:.2f}' for k, v in last.items() if k.startswith(('loss_', 'acc_')))
        print(f'  last pretraining step: {shown}')
    print(f'  {"task":10s} {"metric":24s} {"pretrained":>16s} {"scratch":>16s}  per seed (pretrained / scratch)')
    table = {}
    for task, (name, key) in METRIC.items():
        got = {init: [runs[(task, init, s)].get(key, float('nan')) for s in seeds] for init in ('pretrained',
                                                                                                  'scratch')}
        per_seed = ', '.join(f's{s} {p:.1f}/{q:.1f}' for s, p, q in zip(seeds, got['pretrained'], got['scratch'],
                                                                          strict=True))
        print(f'  {task:10s} {name:24s} {_spread(got["pretrained"]):>16s} {_spread(got["scratch"]):>16s}  {per_seed}')
        table[task] = got
    print(f'  mean +- half the range over seeds {seeds}; higher is better')
    return table
