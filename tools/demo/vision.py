"""The vision demo (``make demo``, ``python tools/demo.py [--task vision] [--full]``): BEiT pretraining vs scratch.

Generate synthetic data, fit a k-means visual vocabulary, BEiT-pretrain a tiny BEiT on the unlabeled images, then
fine-tune classification and linear-head segmentation (several seeds) from that checkpoint and, with the same recipe
and budget, from scratch; print the pretrained-vs-scratch table with chance levels and draw demo_out/predictions.png
and demo_out/mim/*.png. ``--full`` adds the UperNet segmentation pair (pretrained and scratch) and more seeds.
Every training stage is a plain ``tools/train.py`` run of a config in configs/demo/ (the pretraining checkpoint
initialises the downstream configs as it is, no conversion).
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from functools import partial
from typing import Callable, Dict, List, Sequence, Tuple

from .stages import (
    ROOT,
    STAGE_TIMES,
    config_value,
    epoch_schedule,
    iter_schedule,
    load_text,
    rel,
    run_parallel,
    run_stage,
    say,
    train_stage,
)

PRE_CFG = osp.join(ROOT, 'configs/demo/beit-tiny_demo_pretrain.py')
CLS_CFG = osp.join(ROOT, 'configs/demo/beit-tiny_demo_cls.py')
SEG_CFG = osp.join(ROOT, 'configs/demo/upernet_beit-tiny_demo_seg.py')
LIN_CFG = osp.join(ROOT, 'configs/demo/linear_beit-tiny_demo_seg.py')
SEEDS, FULL_SEEDS = (0, 1, 2), (0, 1, 2, 3, 4)


def add_vision_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the vision task (budgets; defaults are the demo configs' values).

    Args:
        group: Argument group to add them to.
    """
    group.add_argument('--pretrain-epochs', type=int, help='BEiT pretraining epochs (config: 20)')
    group.add_argument('--cls-epochs', type=int, help='classification fine-tuning epochs (config: 10)')
    group.add_argument('--seg-iters', type=int, help='segmentation iterations, linear head and UperNet (config: 600)')
    group.add_argument('--seeds', type=int, nargs='+',
                       help=f'linear-head segmentation seeds (default {SEEDS}, with --full {FULL_SEEDS})')
    group.add_argument('--upernet', action=argparse.BooleanOptionalAction, default=None,
                       help='run the UperNet pair (default: only with --full)')
    group.add_argument('--unlabeled', type=int, default=2000, help='unlabeled images for pretraining')
    group.add_argument('--train-per-class', type=int, default=100, help='labeled training images per class')
    group.add_argument('--val-per-class', type=int, default=50, help='labeled validation images per class')
    group.add_argument('--ade-train', type=int, default=200, help='segmentation training scenes')
    group.add_argument('--ade-val', type=int, default=100, help='segmentation validation scenes')


def seg_chance(data: str) -> float:
    """The mIoU of predicting the most frequent class everywhere on the validation scenes.

    Args:
        data: Root written by tools/misc/make_demo_data.py.

    Returns:
        The mIoU in percent.
    """
    import numpy as np
    from PIL import Image
    counts = np.zeros(256, np.int64)
    for path in glob.glob(osp.join(data, 'ade/ADEChallengeData2016/annotations/validation/*.png')):
        counts += np.bincount(np.asarray(Image.open(path)).ravel(), minlength=256)
    counts = counts[1:151]  # reduce_zero_label: raw 0 is ignored
    return 100 * counts.max() / counts.sum() / (counts > 0).sum()




def finetunings(args: argparse.Namespace, seeds: Sequence[int], upernet: bool) -> Dict[Tuple[str, int], Callable]:
    """The training runs of the table, each done once from scratch and once from the pretrained checkpoint.

    Args:
        args: Parsed demo options (budgets, data).
        seeds: Linear-head segmentation seeds.
        upernet: Whether the UperNet pair runs too.

    Returns:
        ``(row, seed) -> run(init, load_opts)`` (rows ``'cls'``, ``'linseg'``, ``'seg'``; ``init`` is
        ``'pretrained'`` or ``'scratch'``); a run returns its final validation metrics and checkpoint.
    """
    cls_epochs = args.cls_epochs or config_value(CLS_CFG, 'train_cfg.max_epochs')
    seg_iters = args.seg_iters or config_value(LIN_CFG, 'train_cfg.max_iters')
    cls_opts = [f'{k}.dataset.data_root={args.data}/imagenet' for k in ('train_dataloader', 'val_dataloader',
                                                                      'test_dataloader')]
    cls_opts += epoch_schedule(cls_epochs, config_value(CLS_CFG, 'param_scheduler.0.end'))
    seg_root = f'{args.data}/ade/ADEChallengeData2016'
    seg_opts = [f'{k}.dataset.data_root={seg_root}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    seg_opts += iter_schedule(seg_iters, config_value(LIN_CFG, 'param_scheduler.0.end'))
    runs = {('cls', 0): lambda init, load: train_stage(args, f'cls {init}', CLS_CFG, osp.join(args.out, f'cls_{init}'),
                                                       [*cls_opts, *load], max_epochs=cls_epochs)}
    for s in seeds:
        runs[('linseg', s)] = lambda init, load, s=s: train_stage(
            args, f'linseg {init} seed {s}', LIN_CFG, osp.join(args.out, f'linseg_{init}_seed{s}'),
            [*seg_opts, *load, f'randomness.seed={s}'])
    if upernet:
        runs[('seg', 0)] = lambda init, load: train_stage(args, f'upernet {init}', SEG_CFG,
                                                          osp.join(args.out, f'seg_{init}'), [*seg_opts, *load])
    return runs


def table_rows(runs: Dict[Tuple[str, int], Dict[str, Dict]]) -> Dict:
    """``(row, init) -> metrics``; the linear head's row holds the mean mIoU, each seed's, and seed 0's checkpoint.

    Args:
        runs: ``(row, seed) -> {init: metrics}``.

    Returns:
        The rows of the table.
    """
    results: Dict = {}
    for (row, _), by_init in runs.items():
        for init, res in by_init.items():
            if row != 'linseg':
                results[(row, init)] = res
                continue
            got = results.setdefault((row, init), dict(seeds=[], checkpoint=res['checkpoint']))
            got['seeds'].append(res['mIoU'])
            got['mIoU'] = sum(got['seeds']) / len(got['seeds'])
    return results


def run_vision(args: argparse.Namespace) -> None:
    """BEiT pretraining vs scratch on generated data: classification, linear-head (and UperNet) segmentation.

    With ``--jobs`` 2 or more, the fine-tunings from scratch run beside the vocabulary and the pretraining (they do
    not need them), and the ones from the pretrained checkpoint two at a time after it.

    Args:
        args: Parsed demo options.
    """
    os.makedirs(args.out, exist_ok=True)
    py = sys.executable
    seeds = tuple(args.seeds) if args.seeds else (FULL_SEEDS if args.full else SEEDS)
    upernet = args.full if args.upernet is None else args.upernet
    pre_epochs = args.pretrain_epochs or config_value(PRE_CFG, 'train_cfg.max_epochs')
    step = iter(range(1, 5))
    header = lambda text: say(f'{next(step)}/4 {text}')  # noqa: E731
    say(f'vision task{" (--full)" if args.full else ""}: load average {load_text()} on {os.cpu_count()} cores; '
        f'full logs in {rel(args.out)}/*.log')

    header(f'data and visual vocabulary: {args.unlabeled} unlabeled images, {args.train_per_class} + '
           f'{args.val_per_class} labeled per class, {args.ade_train} + {args.ade_val} ADE20K-layout scenes; '
           'k-means of 8x8 patches, 256 tokens')
    # regenerated each run in seconds; only folders that carry the generator's marker are ever replaced
    run_stage('data', [py, 'tools/misc/make_demo_data.py', '--out', args.data, '--train-per-class',
                       str(args.train_per_class), '--val-per-class', str(args.val_per_class), '--ade-train',
                       str(args.ade_train), '--ade-val', str(args.ade_val), '--unlabeled', str(args.unlabeled),
                       '--overwrite'], osp.join(args.out, 'data.log'), threads=args.threads)
    vocab = osp.join(args.data, 'kmeans_256.pth')

    def pretrain() -> Dict:
        run_stage('vocabulary', [py, 'tools/misc/fit_kmeans_tokenizer.py', f'{args.data}/unlabeled', vocab,
                                 '--patch-size', '8', '--vocab-size', '256', '--view-size', '64'],
                  osp.join(args.out, 'vocab.log'), threads=args.threads)
        sched = epoch_schedule(pre_epochs, config_value(PRE_CFG, 'param_scheduler.0.end'))
        return train_stage(args, 'pretrain', PRE_CFG, osp.join(args.out, 'pretrain'),
                           [f'train_dataloader.dataset.data_root={args.data}/unlabeled',
                            f'model.target_generator.checkpoint={vocab}', *sched],
                           max_epochs=pre_epochs, evaluate=False)

    runs = finetunings(args, seeds, upernet)
    names = dict(cls='classification', linseg=f'linear-head segmentation (seeds {seeds})', seg='UperNet segmentation')
    header(f'BEiT pretraining on the unlabeled images, {pre_epochs} epochs (configs/demo/beit-tiny_demo_pretrain.py)'
           + ('; beside it, ' if args.jobs > 1 else ', then ') + 'the fine-tunings from scratch: '
           + ', '.join(names[row] for row in dict.fromkeys(row for row, _ in runs)))
    scratch = partial(run_parallel, [partial(run, 'scratch', []) for run in runs.values()], max(args.jobs - 1, 1))
    pre, scratch_runs = run_parallel([pretrain, scratch], min(args.jobs, 2))
    pre_ckpt = pre['checkpoint']
    mim_acc = [r.values['mim_acc'] for r in pre['records'] if r.mode == 'train' and 'mim_acc' in r.values]
    header('the same fine-tunings (recipe, budget, seeds) from the pretrained checkpoint')
    pretrained_runs = run_parallel([partial(run, 'pretrained', [f'load_from={pre_ckpt}']) for run in runs.values()],
                                   args.jobs)
    results = table_rows({key: dict(pretrained=p, scratch=q)
                          for key, p, q in zip(runs, pretrained_runs, scratch_runs, strict=True)})

    seg_kind = 'seg' if upernet else 'linseg'
    header(f'drawing predictions (classifier and {"UperNet" if upernet else "linear-head"} segmentor, pretrained) '
           'and what pretraining learned (masks, predicted tokens, cls attention)')
    png = osp.join(args.out, 'predictions.png')
    imgs = sorted(glob.glob(osp.join(args.data, 'unlabeled', '*.jpg')))[:4]
    run_parallel([
        partial(run_stage, 'predictions figure', [
            py, 'tools/visualization/visualize_predictions.py', '--cls-config', CLS_CFG, '--cls-checkpoint',
            results[('cls', 'pretrained')]['checkpoint'], '--seg-config', SEG_CFG if upernet else LIN_CFG,
            '--seg-checkpoint', results[(seg_kind, 'pretrained')]['checkpoint'], '--data', args.data, '--out', png],
            osp.join(args.out, 'visualize.log'), threads=args.threads),
        partial(run_stage, 'MIM figures', [
            py, 'tools/visualization/visualize_mim.py', PRE_CFG, pre_ckpt, '--images', *imgs, '--out',
            osp.join(args.out, 'mim'), '--full-crop', '--cfg-options', f'model.target_generator.checkpoint={vocab}'],
            osp.join(args.out, 'visualize_mim.log'), threads=args.threads)], args.jobs)

    with open(osp.join(args.data, 'imagenet/meta/classes.txt')) as f:
        n_cls = len([line for line in f if line.strip()])
    print_vision_table(args, results, seeds, upernet, 100 / n_cls, seg_chance(args.data), mim_acc, png)


def print_vision_table(args: argparse.Namespace, results: Dict, seeds: Sequence[int], upernet: bool,
                       cls_chance: float, seg_ch: float, mim_acc: List[float], png: str) -> None:
    """Print the pretrained-vs-scratch table with chance levels; write it to results.json with the stage times.

    Args:
        args: Demo options.
        results: ``(row, init) -> metrics`` of the runs.
        seeds: Linear-head seeds.
        upernet: Whether the UperNet pair ran.
        cls_chance: Classification chance level (majority class), percent.
        seg_ch: Segmentation chance level (most frequent class everywhere), mIoU percent.
        mim_acc: Masked-token accuracies logged during pretraining.
        png: Path of the predictions figure.
    """
    rows = [('classification top-1', 'cls', 'accuracy/top1', cls_chance),
            (f'seg. mIoU, linear x{len(seeds)}', 'linseg', 'mIoU', seg_ch)]
    if upernet:
        rows.append(('seg. mIoU, UperNet', 'seg', 'mIoU', seg_ch))
    print('\n[demo] results on the generated validation sets (same fine-tuning recipe and budget)')
    print(f'  {"":22s} {"BEiT-pretrained":>16s} {"from scratch":>13s} {"gain":>7s} {"chance":>7s}')
    table = {}
    for name, kind, key, chance in rows:
        pre, scr = results[(kind, 'pretrained')][key], results[(kind, 'scratch')][key]
        table[name] = dict(pretrained=pre, scratch=scr, chance=chance)
        print(f'  {name:22s} {pre:15.2f}% {scr:12.2f}% {pre - scr:+7.2f} {chance:6.1f}%')
    pairs = list(zip(results[('linseg', 'pretrained')]['seeds'], results[('linseg', 'scratch')]['seeds'], strict=True))
    print(f'  linear head, per seed {tuple(seeds)}: ' + ', '.join(f'{p:.2f} vs {q:.2f} ({p - q:+.2f})'
                                                              for p, q in pairs)
          + ('; UperNet: seed 0 only' if upernet else ''))
    if len(pairs) > 1:
        gains = [p - q for p, q in pairs]
        spread = [max(v) - min(v) for v in zip(*pairs, strict=True)]
        print(f'  seed noise (max - min over seeds): pretrained {spread[0]:.2f}, scratch {spread[1]:.2f}; gain at '
              f'every seed between {min(gains):+.2f} and {max(gains):+.2f}')
    print('  chance: the majority class (segmentation: the most frequent class everywhere); per-class IoU at the '
          f'end of {rel(osp.join(args.out, f"linseg_pretrained_seed{seeds[0]}.log"))}')
    if mim_acc:
        print(f'  pretraining: final masked-token accuracy {mim_acc[-1]:.1f}% over 256 tokens (chance 0.4%)')
    print(f'  predictions          : {rel(png)}')
    print(f'  pretraining figures  : {rel(osp.join(args.out, "mim"))}/*.png')
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(dict(table=table, linear_seeds=dict(seeds=list(seeds), pairs=pairs),
                       stages={s.name: round(s.seconds, 1) for s in STAGE_TIMES},
                       stage_cpu={s.name: round(s.cpu_seconds, 1) for s in STAGE_TIMES},
                       stage_main_cpu={s.name: round(s.main_cpu_seconds, 1) for s in STAGE_TIMES}), f, indent=2)

