"""The zero-shot demo (``python tools/demo.py --task zero-shot``): the VL demo's retrieval model as a classifier.

Stages (logs in demo_out/zero_shot/*.log): the VL demo's generated data and SentencePiece vocabulary (its own copy
under ``--data``/zero_shot/vl); held-out single-shape scenes in the ImageNet layout, one folder set labelled by colour
(4 classes) and one by shape (3), with their class-name and prompt files (``beitmm.testing.synthetic_zero_shot``);
the VL demo's tiny BEiT-3 retrieval fine-tuning (configs/demo/beit3-tiny_demo_retrieval.py) with two seeds, or the
checkpoints given with ``--zs-checkpoints``; then ``tools/test.py configs/demo/beit3-tiny_demo-zeroshot_cls.py CKPT``
(``beitmm.ZeroShotClassifier``, mmpretrain's ``Accuracy``) on each folder set. It prints top-1 accuracy per seed next
to chance (balanced classes: 1 / classes). No prompt or setting is chosen on these images.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
from functools import partial
from typing import Dict, List

from .stages import config_value, load_text, rel, run_parallel, run_stage, say, train_stage
from .vl import CFG as VL_CFG
from .vl import make_vl_data

ZS_CFG = 'configs/demo/beit3-tiny_demo-zeroshot_cls.py'
ATTRIBUTES = (('color', 'colour'), ('kind', 'shape'))


def add_zero_shot_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the zero-shot demo.

    Args:
        group: Argument group to add them to.
    """
    group.add_argument('--zs-seeds', type=int, nargs='+', default=[0, 1],
                       help='training seeds of the retrieval model (default 0 1)')
    group.add_argument('--zs-per-class', type=int, default=50, help='held-out images per class (default 50)')
    group.add_argument('--zs-checkpoints', nargs='+', metavar='CKPT',
                       help='evaluate these retrieval checkpoints of configs/demo/beit3-tiny_demo_retrieval.py '
                            '(trained on this vocabulary) instead of training one per seed')


def make_folders(root: str, per_class: int) -> Dict[str, dict]:
    """Write the colour and shape folder sets (ImageNet layout) under ``root``; returns their generator dicts."""
    from beitmm.testing.synthetic_zero_shot import make_zero_shot_data
    return {attr: make_zero_shot_data(osp.join(root, attr), attr, per_class=per_class, overwrite=True)
            for attr, _ in ATTRIBUTES}


def evaluate(args: argparse.Namespace, name: str, ckpt: str, folder: dict, spm: str, work: str) -> float:
    """Top-1 zero-shot accuracy of a retrieval checkpoint on one folder set (a ``tools/test.py`` stage)."""
    out_json = work + '.json'
    opts = [f'model.tokenizer.model_file={spm}', f"model.class_names={folder['classes_file']}",
            f"model.templates={folder['templates_file']}", f"test_dataloader.dataset.data_root={folder['root']}",
            f"test_dataloader.dataset.classes={folder['classes_file']}"]
    run_stage(name, [sys.executable, 'tools/test.py', ZS_CFG, ckpt, '--work-dir', work, '--out', out_json,
                     '--cfg-options', *opts], work + '.log', threads=args.threads)
    with open(out_json) as f:
        return float(json.load(f)['accuracy/top1'])


def run_zero_shot(args: argparse.Namespace) -> None:
    """Generate the data, train (or take) the retrieval checkpoints, evaluate zero-shot, print the table.

    Args:
        args: Parsed demo options.
    """
    out = osp.join(args.out, 'zero_shot')
    os.makedirs(out, exist_ok=True)
    say(f'zero-shot task: load average {load_text()} on {os.cpu_count()} cores; full logs in {rel(out)}/*.log')
    say(f'1/4 data: the VL demo\'s {args.vl_train} + {args.vl_val} generated scenes and vocabulary; '
        f'{args.zs_per_class} held-out single-shape scenes per colour / shape class')
    vl_args = copy.copy(args)
    vl_args.data = osp.join(args.data, 'zero_shot')  # its own copy: a VL demo running beside it keeps its data
    spm = make_vl_data(vl_args, out, args.vl_train, args.vl_val, args.vl_nlvr2)
    folders = make_folders(osp.join(args.data, 'zero_shot', 'folders'), args.zs_per_class)
    coco = osp.join(vl_args.data, 'vl', 'coco')
    if args.zs_checkpoints:
        say(f'2/4 retrieval checkpoints given: {", ".join(rel(c) for c in args.zs_checkpoints)}')
        runs = {f'ckpt{i}': dict(checkpoint=c) for i, c in enumerate(args.zs_checkpoints)}
    else:
        say(f'2/4 the VL demo\'s retrieval fine-tuning (tiny BEiT-3 from scratch), seeds {args.zs_seeds}')
        cfg = VL_CFG['retrieval']
        calls = []
        for seed in args.zs_seeds:
            opts = [f'{k}.dataset.data_root={coco}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
            opts += [f'model.tokenizer.model_file={spm}', f'randomness.seed={seed}']
            calls.append(partial(train_stage, args, f'retrieval seed {seed}', cfg,
                                 osp.join(out, f'retrieval_seed{seed}'), opts,
                                 max_epochs=config_value(cfg, 'train_cfg.max_epochs')))
        runs = dict(zip([f'seed {s}' for s in args.zs_seeds], run_parallel(calls, args.jobs), strict=True))
    say('3/4 zero-shot evaluation: tools/test.py with beitmm.ZeroShotClassifier on each folder set')
    calls, keys = [], []
    for run_name, run in runs.items():
        for attr, word in ATTRIBUTES:
            tag = f'{run_name.replace(" ", "")}_{attr}'
            calls.append(partial(evaluate, args, f'zero-shot {run_name} {word}', run['checkpoint'], folders[attr],
                                 spm, osp.join(out, tag)))
            keys.append((run_name, attr))
    acc: Dict[str, Dict[str, float]] = {}
    for (run_name, attr), value in zip(keys, run_parallel(calls, args.jobs), strict=True):
        acc.setdefault(run_name, {})[attr] = value
    say('4/4 results')
    print_zero_shot_table(runs, acc, folders)
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(dict(accuracy=acc, chance={a: 100 / len(folders[a]['classes']) for a, _ in ATTRIBUTES},
                       retrieval={k: {m: v for m, v in r.items() if m not in ('records', 'checkpoint')}
                                  for k, r in runs.items()},
                       templates={a: folders[a]['templates'] for a, _ in ATTRIBUTES}), f, indent=2)


def print_zero_shot_table(runs: Dict[str, dict], acc: Dict[str, Dict[str, float]], folders: Dict[str, dict]) -> None:
    """Print top-1 zero-shot accuracy per run next to chance."""
    names: List[str] = list(runs)
    print('\n  Zero-shot demo: the VL demo\'s tiny BEiT-3 retrieval model (from scratch, 64 px) as a classifier')
    print(f'  {"classes":22s} {"chance":>7s}  ' + '  '.join(f'{n:>10s}' for n in names))
    for attr, word in ATTRIBUTES:
        classes = folders[attr]['classes']
        label = f'{word} ({len(classes)}, {folders[attr]["num_images"]} img)'
        print(f'  {label:22s} {100 / len(classes):7.1f}  ' + '  '.join(f'{acc[n][attr]:10.1f}' for n in names))
    if any('t2i/r_mean' in r for r in runs.values()):
        print(f'  {"retrieval R mean (val)":22s} {"":7s}  ' + '  '.join(
            f'{runs[n].get("t2i/r_mean", float("nan")):10.1f}' for n in names))
    print('  top-1 accuracy (%), mmpretrain Accuracy via tools/test.py; prompts: "A {colour} {shape}." averaged over '
          'the other attribute (fixed in advance, not tuned); chance = 1 / classes (balanced).')
