"""Train a beitmm config with an mmengine Runner.

python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--deterministic] [--cfg-options k=v ...]
bash tools/dist_train.sh CONFIG NUM_PROCS [same options]
"""
import argparse
import os
import os.path as osp
import runpy
import sys
from typing import List

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '_bootstrap.py'))  # .venv/bin/python where needed


def _early_deterministic_env(argv: List[str]) -> None:
    """``--deterministic``: set MKL_CBWR / CUBLAS_WORKSPACE_CONFIG before anything computes.

    MKL reads MKL_CBWR once, at its first call. Any unambiguous prefix of the flag counts, as argparse accepts it.

    Args:
        argv: Command-line arguments after the program name.
    """
    if any(len(a) > 4 and '--deterministic'.startswith(a) for a in argv):
        from beitmm.engine.rng import apply_deterministic_env
        apply_deterministic_env()


_early_deterministic_env(sys.argv[1:])

from mmengine.config import Config, DictAction


def parse_args() -> argparse.Namespace:
    """Parse the command line (also exports ``LOCAL_RANK`` and ``BEITMM_TRUST_CHECKPOINT``)."""
    p = argparse.ArgumentParser(description='Train a model with a beitmm config')
    p.add_argument('config', help='config file')
    p.add_argument('--work-dir', help='where logs and checkpoints go (default work_dirs/<config name>)')
    p.add_argument('--resume', nargs='?', type=str, const='auto',
                   help='resume from CKPT, or from the last checkpoint in the work dir when no CKPT is given')
    p.add_argument('--amp', action='store_true', help='mixed precision (bf16 where supported, else fp16)')
    p.add_argument('--auto-scale-lr', action='store_true', help='scale lr by the actual total batch size')
    p.add_argument('--deterministic', action='store_true',
                   help='deterministic kernels: randomness.deterministic=True (torch.use_deterministic_algorithms) '
                   'and MKL_CBWR=AUTO (MKL results independent of memory alignment), set before torch computes. '
                   'Bit-identical runs and resumes also need the same thread count (OMP_NUM_THREADS)')
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


def build_cfg(args: argparse.Namespace) -> Config:
    """Load the config and apply the command-line overrides."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        from beitmm.engine.amp import amp_optim_wrapper
        cfg.optim_wrapper = amp_optim_wrapper(cfg.optim_wrapper)
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True
    if getattr(args, 'deterministic', False):
        cfg.setdefault('randomness', {})['deterministic'] = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main() -> None:
    """Build the config and the Runner, then train."""
    args = parse_args()
    cfg = build_cfg(args)
    from beitmm.engine.runner import build_runner, close_distributed
    build_runner(cfg).train()
    close_distributed()


if __name__ == '__main__':
    main()
