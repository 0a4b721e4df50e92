"""Evaluate a checkpoint with a beitmm config.

python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...]
bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS
"""
import argparse
import os
import os.path as osp
import runpy

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '_bootstrap.py'))  # .venv/bin/python where needed

from mmengine.config import Config, DictAction


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
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.trust_checkpoint:
        os.environ['BEITMM_TRUST_CHECKPOINT'] = '1'
    return args


def main() -> None:
    """Evaluate the checkpoint on the config's test set; write the metrics to ``--out`` if given."""
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
    metrics = build_runner(cfg).test()
    if args.out and is_main_process():  # every rank holds the gathered metrics; one writes them
        import json
        with open(args.out, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
    close_distributed()


if __name__ == '__main__':
    main()
