"""Evaluate a checkpoint with a beitmm config.

python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...] [--tta]
python tools/test.py CONFIG CHECKPOINT --robustness a r sketch v2 [--robustness-root DIR]
bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS

``--tta``: the config's test-time augmentation (ADE20K: unilm's multi-scale + flip, mmseg ``SegTTAModel``), or for a
classifier without one the image and its flip (mmpretrain ``AverageClsScoreTTA``). ``--robustness``: the classifier on
ImageNet-A / -R / -Sketch / -V2 (``configs/_base_/datasets/imagenet_{a,r,sketch,v2}.py``) with the config's test
pipeline; each one's top-1 / top-5 is printed, then a summary.
"""
import argparse
import os
import os.path as osp
import runpy
from typing import List, Tuple

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '_bootstrap.py'))  # .venv/bin/python where needed

from mmengine.config import Config, DictAction

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
VARIANTS = ('a', 'r', 'sketch', 'v2')


def parse_args() -> argparse.Namespace:
    """Parse the command line; ``--trust-checkpoint`` sets ``BEITMM_TRUST_CHECKPOINT`` for the loaders."""
    p = argparse.ArgumentParser(description='Test a checkpoint with a beitmm config')
    p.add_argument('config', help='config file')
    p.add_argument('checkpoint', help='checkpoint file (any layout beitmm converts)')
    p.add_argument('--work-dir', help='where logs go')
    p.add_argument('--out', help='dump the metrics to this JSON file')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, key=value')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow checkpoints that need arbitrary unpickling (only for files you trust)')
    p.add_argument('--tta', action='store_true',
                   help="test-time augmentation: the config's tta_model / tta_pipeline (ADE20K: multi-scale + flip), "
                        'else for a classifier the image and its horizontal flip')
    p.add_argument('--robustness', nargs='+', choices=VARIANTS, metavar='VARIANT',
                   help='evaluate on ImageNet variants instead of the config\'s test set: a r sketch v2 '
                        '(configs/_base_/datasets/imagenet_<variant>.py)')
    p.add_argument('--robustness-root', metavar='DIR',
                   help='folder holding imagenet-a/, imagenet-r/, imagenet-sketch/sketch/ and '
                        'imagenet-v2/imagenetv2-matched-frequency-format-val/ (default: data/, as those configs)')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.trust_checkpoint:
        os.environ['BEITMM_TRUST_CHECKPOINT'] = '1'
    return args


def test_runs(cfg: Config, args: argparse.Namespace) -> List[Tuple[str, Config]]:
    """The evaluations to run: the config's test set, or one per ``--robustness`` variant (own work_dir each)."""
    if not args.robustness:
        return [('', cfg)]
    from beitmm.engine.test_modes import with_test_set
    runs = []
    for variant in args.robustness:
        test_cfg = Config.fromfile(osp.join(CONFIGS, '_base_', 'datasets', f'imagenet_{variant}.py'))
        root = args.robustness_root and osp.join(args.robustness_root, osp.basename(test_cfg.data_root))
        run = with_test_set(cfg, test_cfg, data_root=root)
        run.work_dir = osp.join(cfg.work_dir, f'imagenet-{variant}')
        runs.append((f'imagenet-{variant}', run))
    return runs


def main() -> None:
    """Evaluate the checkpoint on the config's test set (or the ImageNet variants); write the metrics to ``--out``."""
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from, cfg.resume = args.checkpoint, False
    from mmengine.dist import is_main_process

    from beitmm.engine.runner import build_runner, close_distributed
    from beitmm.engine.test_modes import apply_tta
    metrics = {}
    for name, run in test_runs(cfg, args):
        notes = apply_tta(run) if args.tta else []
        runner = build_runner(run)
        for line in notes:
            runner.logger.info(line)
        result = runner.test()
        metrics.update(result)
        if name and is_main_process():
            print(f'{name}: ' + ', '.join(f'{k} {float(v):.2f}' for k, v in result.items()), flush=True)
    if args.robustness and is_main_process():
        print('robustness summary (top-1 %): ' + ', '.join(
            f"{k.rpartition('/')[0]} {float(v):.2f}" for k, v in metrics.items() if k.endswith('/top1')), flush=True)
    if args.out and is_main_process():  # every rank holds the gathered metrics; one writes them
        import json
        with open(args.out, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
    close_distributed()


if __name__ == '__main__':
    main()
