"""Time beitmm against the reference implementation, side by side, on one training (or inference) step.

Usage (``python -m tools.benchmarks TASK ...`` from the repository root is the same)::

    python tools/analysis_tools/benchmark.py pretrain        # mmpretrain BEiT + BEiTViT + DALL-E
    python tools/analysis_tools/benchmark.py classification  # mmpretrain ImageClassifier + BEiTViT
    python tools/analysis_tools/benchmark.py segmentation    # mmseg BEiT + Feature2Pyramid + UPerHead
    python tools/analysis_tools/benchmark.py detection --mmdet-src PATH  # Mask R-CNN: mmdet's ViTDet ViT + SimpleFPN
    python tools/analysis_tools/benchmark.py masking         # blockwise masks vs unilm's loop
    python tools/analysis_tools/benchmark.py captioning      # BEiT-3 beam search: kv cache vs recomputing
    python tools/analysis_tools/benchmark.py retrieval       # retrieval evaluation time at two dataset sizes
    python tools/analysis_tools/benchmark.py seq2seq         # s2s-ft decoding: kv cache vs recomputing
    python tools/analysis_tools/benchmark.py the-x           # THE-X on CKKS: per-layer / per-sample latency, sizes
    python tools/analysis_tools/benchmark.py the-x --text    # THE-X on MiniLM text: today's vs packed circuit
    python tools/analysis_tools/benchmark.py vl-pretrain     # one BEiT-3 MDM step, share of the VQ-KD tokenizer
    python tools/analysis_tools/benchmark.py pretrain-data   # multi-source loader steps; tar header walk vs tarfile
    python tools/analysis_tools/benchmark.py segmentation --with-cp --inference --precision fp32

Both models get the same weights (reference -> beitmm through beitmm's checkpoint converters), the
same inputs, the same precision; after warm-up the steps alternate (ABBA) and the median
images/s is reported with the ratio, the peak step memory of each (one subprocess per
implementation), the FLOPs per image and the fraction of the matmul peak measured here.
``--ref-precision fp32,bf16`` times the reference at several precisions and compares beitmm to
the fastest. ``--precision auto`` picks bf16 where the device runs it natively, fp32 otherwise.
"""
import argparse
import importlib
import os
import sys
import warnings
from typing import List, Optional

import torch

from .compare import memory_probe, run_models
from .masking import run_masking
from .tasks import ARCHS

# Tasks with their own module here, <task>.py ('-' -> '_'), defining run_<task>(args); imported on use.
MODULE_TASKS = ('captioning', 'retrieval', 'seq2seq', 'electra', 'the-x', 'vl-pretrain', 'pretrain-data')
DEFAULTS = dict(pretrain=(8, 224), classification=(8, 224), segmentation=(2, 512), multiway=(8, 224),
                detection=(1, 1024), captioning=(2, 224), retrieval=(32, 64), seq2seq=(2, 0), electra=(8, 0),
                **{'the-x': (2, 32), 'vl-pretrain': (4, 224), 'pretrain-data': (32, 64)})


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line and fill the task's default batch and image sizes.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The arguments, with ``argv`` (the arguments given) for the memory-probe subprocesses.
    """
    p = argparse.ArgumentParser(prog='tools/analysis_tools/benchmark.py', description=__doc__.splitlines()[0])
    p.add_argument('task', choices=['pretrain', 'classification', 'segmentation', 'multiway', 'detection', 'masking',
                                    *MODULE_TASKS])
    p.add_argument('--batch-size', type=int, help='default 8 (pretrain, classification) / 2 (segmentation)')
    p.add_argument('--img-size', type=int, help='default 224 / 512 (segmentation)')
    p.add_argument('--arch', choices=sorted(set(ARCHS) | {'tiny'}),
                   help="default 'base'; captioning: 'tiny' (BEiT-3 tiny: 192 wide, 12 layers)")
    p.add_argument('--precision', default='auto', choices=['fp32', 'bf16', 'fp16', 'auto'], help="beitmm's precision")
    p.add_argument('--ref-precision', default='same',
                   help="comma list of the reference's precisions ('same' = beitmm's); the fastest is compared")
    p.add_argument('--inference', action='store_true', help='time a no-grad forward instead of a training step')
    p.add_argument('--with-cp', action='store_true', help="activation checkpointing in beitmm's backbone")
    p.add_argument('--compile', action='store_true', help="torch.compile beitmm's backbone")
    p.add_argument('--repeats', type=int, default=3, help='timed steps per implementation')
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--no-memory', action='store_true', help='skip the peak-memory subprocesses')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--num-masks', type=int, default=4096, help='masking task: masks per timing')
    p.add_argument('--tokens', type=int, default=None,
                   help='captioning / seq2seq tasks: tokens generated (default 20 / 32)')
    p.add_argument('--num-beams', type=int, default=3, help='captioning / seq2seq tasks: beams')
    p.add_argument('--threads', type=int, default=1,
                   help='captioning / retrieval / seq2seq tasks: torch threads (1: stable CPU times)')
    p.add_argument('--sizes', type=int, nargs='+', default=[100, 400], help='retrieval task: images per evaluation')
    p.add_argument('--clock', default='wall', choices=['wall', 'cpu'],
                   help="model tasks: 'cpu' times this process's CPU seconds (steadier on a shared CPU)")
    p.add_argument('--mmdet-src', help="detection task: an mmdetection source checkout (holds projects/ViTDet)")
    p.add_argument('--det-backbone', default='beit', choices=['beit', 'plain'],
                   help="detection task: 'beit' = each backbone as configured; 'plain' = one network, checked")
    p.add_argument('--text', action='store_true',
                   help='the-x task: a text encoder (real MiniLM at --tokens 32; --arch tiny: a tiny end-to-end run)')
    p.add_argument('--memory-probe', help=argparse.SUPPRESS)  # internal: 'beitmm' or 'reference@<precision>'
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.mmdet_src:  # the memory probes run from the repository root
        args.mmdet_src = os.path.abspath(args.mmdet_src)
        args.argv += ['--mmdet-src', args.mmdet_src]  # the last one given wins
    if args.task == 'detection' and args.device == 'cpu' and args.precision == 'auto':
        args.precision = 'fp32'  # mmcv's CPU nms and RoIAlign have no bf16 kernels
    args.arch = args.arch or ('tiny' if args.task in ('captioning', 'retrieval', 'seq2seq') else 'base')
    args.tokens = args.tokens or (32 if args.task in ('seq2seq', 'the-x') else 20)  # the-x --text: 32 tokens
    if args.task != 'masking':
        batch, img = DEFAULTS[args.task]
        args.batch_size = args.batch_size or batch
        args.img_size = args.img_size or img
    return args


def main(argv: Optional[List[str]] = None) -> None:
    """Run the benchmark (or, in a subprocess, one memory probe).

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).
    """
    warnings.filterwarnings('ignore')
    args = parse_args(argv)
    if args.memory_probe:
        memory_probe(args)
    elif args.task == 'masking':
        run_masking(args)
    elif args.task in MODULE_TASKS:
        name = args.task.replace('-', '_')
        getattr(importlib.import_module(f'.{name}', __package__), f'run_{name}')(args)
    else:
        run_models(args)


if __name__ == '__main__':
    main()
