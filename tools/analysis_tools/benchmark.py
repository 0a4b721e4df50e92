"""Time beitmm against the reference implementation, side by side, on one training (or inference) step.

Usage::

    python tools/analysis_tools/benchmark.py pretrain        # mmpretrain BEiT + BEiTViT + DALL-E
    python tools/analysis_tools/benchmark.py classification  # mmpretrain ImageClassifier + BEiTViT
    python tools/analysis_tools/benchmark.py segmentation    # mmseg BEiT + Feature2Pyramid + UPerHead
    python tools/analysis_tools/benchmark.py masking         # blockwise masks vs unilm's loop
    python tools/analysis_tools/benchmark.py captioning      # BEiT-3 beam search: kv cache vs recomputing
    python tools/analysis_tools/benchmark.py retrieval       # retrieval evaluation time at two dataset sizes
    python tools/analysis_tools/benchmark.py seq2seq         # s2s-ft decoding: kv cache vs recomputing
    python tools/analysis_tools/benchmark.py the-x           # THE-X on CKKS: per-layer / per-sample latency, sizes
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
import os.path as _osp
import sys as _sys

_sys.path.append(_osp.dirname(_osp.dirname(_osp.abspath(__file__))))  # tools/
import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import warnings
from typing import Dict, List, Optional

import _bootstrap  # noqa: E402,F401  (re-runs this tool with .venv/bin/python where needed)
import torch

warnings.filterwarnings('ignore')
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark_tasks import ARCHS, build_pair  # noqa: E402
from benchmark_utils import (  # noqa: E402
    TOLERANCE,
    autocast,
    count_flops,
    fmt_row,
    matmul_peak,
    max_rel_diff,
    median_ips,
    peak_step_memory,
    resolve_precision,
    time_alternating,
)

# Tasks with their own module benchmark_<task>.py ('-' -> '_') defining run_<task>(args).
MODULE_TASKS = ('captioning', 'retrieval', 'seq2seq', 'electra', 'the-x', 'vl-pretrain', 'pretrain-data')
DEFAULTS = dict(pretrain=(8, 224), classification=(8, 224), segmentation=(2, 512), multiway=(8, 224),
                captioning=(2, 224), retrieval=(32, 64), seq2seq=(2, 0), electra=(8, 0),
                **{'the-x': (2, 32), 'vl-pretrain': (4, 224), 'pretrain-data': (32, 64)})


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line and fill the task's default batch and image sizes.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The arguments, with ``argv`` (the arguments given) for the memory-probe subprocesses.
    """
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('task', choices=['pretrain', 'classification', 'segmentation', 'multiway', 'masking',
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
    p.add_argument('--memory-probe', help=argparse.SUPPRESS)  # internal: 'beitmm' or 'reference@<precision>'
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.arch = args.arch or ('tiny' if args.task in ('captioning', 'retrieval', 'seq2seq') else 'base')
    args.tokens = args.tokens or (32 if args.task == 'seq2seq' else 20)
    if args.task != 'masking':
        batch, img = DEFAULTS[args.task]
        args.batch_size = args.batch_size or batch
        args.img_size = args.img_size or img
    return args


def make_steps(args, pair, precisions: Dict[str, str]) -> Dict[str, callable]:
    """One step per (implementation, precision): train = zero_grad + forward + backward + AdamW step."""
    steps = {}
    for name, prec in precisions.items():
        impl = name.split('@')[0]
        model = pair.models[impl]
        if args.inference:
            model.eval()

            def step(impl=impl, prec=prec):
                with torch.inference_mode(), autocast(prec, args.device):
                    pair.infer[impl]()
        else:
            model.train()
            opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)

            def step(impl=impl, prec=prec, opt=opt):
                opt.zero_grad(set_to_none=True)
                with autocast(prec, args.device):
                    loss = pair.train_loss[impl]()
                loss.backward()
                opt.step()
        steps[name] = step
    return steps


def numeric_check(args, pair, prec: str) -> Dict[str, float]:
    """Relative max difference of beitmm vs the reference at ``prec`` (same weights and inputs)."""
    out = {}
    for m in pair.models.values():
        m.eval()
    with torch.no_grad(), autocast(prec, args.device):
        out['inference output'] = max_rel_diff(pair.infer['beitmm'](), pair.infer['reference']())
    if not args.inference:
        for m in pair.models.values():
            m.train()
        with torch.no_grad(), autocast(prec, args.device):
            out['training loss'] = max_rel_diff(pair.train_loss['beitmm'](), pair.train_loss['reference']())
    return out


def memory_probe(args) -> None:
    """Subprocess entry: peak step memory of one implementation, printed as one JSON line."""
    impl, _, prec = args.memory_probe.partition('@')
    pair = build_pair(args.task, args.arch, args.batch_size, args.img_size, args.with_cp)
    pair.models = {k: m.to(args.device) for k, m in pair.models.items()}
    other = 'reference' if impl == 'beitmm' else 'beitmm'
    pair.models[other].cpu()
    step = make_steps(args, pair, {impl: prec})[impl]
    print('MEMORY ' + json.dumps(peak_step_memory(step, args.device)))


def probe_memory(args: argparse.Namespace, name: str, prec: str) -> str:
    """Peak step memory of one implementation, measured in a subprocess of this tool.

    Args:
        args: The parsed arguments.
        name: Implementation (``'beitmm'`` or ``'reference@<precision>'``).
        prec: Precision the implementation runs in.

    Returns:
        ``'<n> MiB'``, or ``'failed (<last error line or exit code>)'``.
    """
    argv = [a for a in args.argv if a != '--compile']
    cmd = [sys.executable, os.path.abspath(__file__)] + argv + ['--memory-probe', f"{name.split('@')[0]}@{prec}"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith('MEMORY ')), None)
    if line is None:
        return f'failed ({res.stderr.strip().splitlines()[-1] if res.stderr.strip() else res.returncode})'
    info = json.loads(line[len('MEMORY '):])
    return f"{info['peak_mib']:.0f} MiB"


def run_models(args: argparse.Namespace) -> None:
    """Time beitmm and the reference on the model task of ``args`` and print the comparison.

    Args:
        args: The parsed arguments.
    """
    prec = resolve_precision(args.precision, args.device)
    refs = [prec] if args.ref_precision == 'same' else [resolve_precision(p.strip(), args.device)
                                                       for p in args.ref_precision.split(',')]
    torch.manual_seed(0)
    pair = build_pair(args.task, args.arch, args.batch_size, args.img_size, args.with_cp)
    pair.models = {k: m.to(args.device) for k, m in pair.models.items()}
    diffs = numeric_check(args, pair, prec)
    if args.compile:
        ours = pair.models['beitmm']
        if hasattr(ours, 'backbone'):
            ours.backbone = torch.compile(ours.backbone)
        else:  # the multiway pair benchmarks bare backbones
            pair.models['beitmm'] = torch.compile(ours)
    precisions = {'beitmm': prec, **{f'reference@{p}': p for p in refs}}
    steps = make_steps(args, pair, precisions)
    flops = {n: count_flops(s) / args.batch_size for n, s in steps.items()}
    peaks = {p: matmul_peak(p, args.device) for p in set(precisions.values())}
    times = time_alternating(steps, args.repeats, args.warmup, args.device)
    ips = {n: median_ips(t, args.batch_size) for n, t in times.items()}
    mem = {n: ('skipped' if args.no_memory else probe_memory(args, n, p)) for n, p in precisions.items()}
    best_ref = max((n for n in ips if n != 'beitmm'), key=ips.get)

    mode = 'inference' if args.inference else 'training step'
    print(f'\n{args.task} {mode}: arch={args.arch} batch={args.batch_size} img={args.img_size} '
          f'device={args.device} threads={torch.get_num_threads()} with_cp={args.with_cp} compile={args.compile}')
    print('matmul peak (GFLOP/s): ' + ', '.join(f'{p} {v:.1f}' for p, v in sorted(peaks.items())))
    widths = [20, 10, 12, 18, 14, 14, 20]
    print(fmt_row(['implementation', 'precision', 'images/s', 'step s (all)', 'GFLOP/image', 'peak frac',
                   'peak step memory'], widths))
    for n, t in times.items():
        frac = flops[n] * ips[n] / 1e9 / peaks[precisions[n]]
        print(fmt_row([n.split('@')[0], precisions[n], f'{ips[n]:.3f}', ' '.join(f'{x:.1f}' for x in t),
                       f'{flops[n] / 1e9:.1f}', f'{frac:.2f}', mem[n]], widths))
    print(f'ratio beitmm / fastest reference ({precisions[best_ref]}): {ips["beitmm"] / ips[best_ref]:.2f}x')
    for k, v in diffs.items():
        tol = TOLERANCE[prec]
        print(f'numerical check ({prec}, same weights): {k} max rel diff {v:.2e} '
              f'({"OK" if v <= tol else "ABOVE"} tolerance {tol:g})')


def run_masking(args) -> None:
    """Blockwise masks per second: beitmm's pooled transform and single generate() vs unilm's loop.

    Each candidate makes ``--num-masks`` masks per timing, alternating, ``--repeats`` times;
    CPU time of this process (``time.process_time``) is used, so other processes on a shared
    machine do not count. The pooled transform's refills are included (amortised cost).
    """
    import random
    import time

    import numpy as np
    from benchmark_masking import ReferenceLoopGenerator

    from beitmm.datasets.transforms.masking import BlockwiseMaskGenerator
    np.random.seed(0)
    random.seed(0)
    pooled, single = BlockwiseMaskGenerator(14, 75, 16, pool_size=1024), BlockwiseMaskGenerator(14, 75, 16, pool_size=1)
    ref = ReferenceLoopGenerator(14, 14, 75, 16, 0.3, False)
    cands = {'beitmm transform (pooled, vectorised)': lambda: pooled.transform({})['mask'],
             'beitmm generate() (one mask)': single.generate, 'reference loop (unilm)': ref}
    times = {n: [] for n in cands}
    for r in range(max(args.repeats, 1)):
        for n in (list(cands) if r % 2 == 0 else list(cands)[::-1]):
            start = time.process_time()
            for _ in range(args.num_masks):
                cands[n]()
            times[n].append((time.process_time() - start) / args.num_masks * 1e6)
    us = {n: statistics.median(t) for n, t in times.items()}
    print(f'\nmasking: {args.num_masks} masks x {args.repeats} (14x14 grid, 75 patches, median CPU time)')
    for n, v in us.items():
        counts = statistics.mean(float(cands[n]().sum()) for _ in range(200))
        print(f'  {n:38s} {v:8.1f} us/mask  {1e6 / v:10.0f} masks/s  mean masked {counts:.1f}')
    print(f'ratio beitmm (pooled) / reference: {us["reference loop (unilm)"] / us[list(us)[0]]:.1f}x')


def main(argv: Optional[List[str]] = None) -> None:
    """Run the benchmark (or, in a subprocess, one memory probe).

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).
    """
    args = parse_args(argv)
    if args.memory_probe:
        memory_probe(args)
    elif args.task == 'masking':
        run_masking(args)
    elif args.task in MODULE_TASKS:  # tools/analysis_tools/benchmark_<task>.py: run_<task>(args), imported on use
        name = args.task.replace('-', '_')
        getattr(importlib.import_module(f'benchmark_{name}'), f'run_{name}')(args)
    else:
        run_models(args)


if __name__ == '__main__':
    main()
