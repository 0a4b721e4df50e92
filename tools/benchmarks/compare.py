"""Model tasks (pretrain, classification, segmentation, multiway): beitmm and the reference side by side.

Both models get the same weights (reference -> beitmm through beitmm's checkpoint converters), the same inputs, the
same precision; after warm-up the steps alternate (ABBA) and the median images/s is reported with the ratio, the peak
step memory of each (one subprocess per implementation), the FLOPs per image and the fraction of the matmul peak
measured here.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
from typing import Dict

import torch

from .tasks import build_pair
from .utils import (
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

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def task_options(args: argparse.Namespace) -> dict:
    """Options of one task's pair (detection: the mmdetection checkout and the backbone variant)."""
    return dict(mmdet_src=args.mmdet_src, det_backbone=args.det_backbone) if args.task == 'detection' else {}


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
    """Relative max difference of beitmm vs the reference at ``prec`` (same weights and inputs).

    The pair's own ``checks`` (name -> {'train': bool, 'beitmm': fn, 'reference': fn}) replace the default
    comparison of the inference output and the training loss.
    """
    checks = pair.checks or {'inference output': dict(train=False, **pair.infer)}
    if not pair.checks and not args.inference:
        checks['training loss'] = dict(train=True, **pair.train_loss)
    out = {}
    for name, c in checks.items():
        for m in pair.models.values():
            m.train(c['train'])
        with torch.no_grad(), autocast(prec, args.device):
            out[name] = max_rel_diff(c['beitmm'](), c['reference']())
    return out


def memory_probe(args) -> None:
    """Subprocess entry: peak step memory of one implementation, printed as one JSON line."""
    impl, _, prec = args.memory_probe.partition('@')
    pair = build_pair(args.task, args.arch, args.batch_size, args.img_size, args.with_cp, **task_options(args))
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
    cmd = [sys.executable, '-m', 'tools.benchmarks', *argv, '--memory-probe', f"{name.split('@')[0]}@{prec}"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)  # the repository root: tools.benchmarks
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
    pair = build_pair(args.task, args.arch, args.batch_size, args.img_size, args.with_cp, **task_options(args))
    pair.models = {k: m.to(args.device) for k, m in pair.models.items()}
    diffs = numeric_check(args, pair, prec) if pair.comparable else {}
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
    times = time_alternating(steps, args.repeats, args.warmup, args.device, args.clock)
    ips = {n: median_ips(t, args.batch_size) for n, t in times.items()}
    mem = {n: ('skipped' if args.no_memory else probe_memory(args, n, p)) for n, p in precisions.items()}
    best_ref = max((n for n in ips if n != 'beitmm'), key=ips.get)

    mode = 'inference' if args.inference else 'training step'
    print(f'\n{args.task} {mode}: arch={args.arch} batch={args.batch_size} img={args.img_size} '
          f'device={args.device} threads={torch.get_num_threads()} with_cp={args.with_cp} compile={args.compile}'
          + (' clock=cpu (images per CPU second)' if args.clock == 'cpu' else ''))
    print('matmul peak (GFLOP/s): ' + ', '.join(f'{p} {v:.1f}' for p, v in sorted(peaks.items())))
    widths = [20, 10, 12, 18, 14, 14, 20]
    print(fmt_row(['implementation', 'precision', 'images/s', 'step s (all)', 'GFLOP/image', 'peak frac',
                   'peak step memory'], widths))
    for n, t in times.items():
        frac = flops[n] * ips[n] / 1e9 / peaks[precisions[n]]
        print(fmt_row([n.split('@')[0], precisions[n], f'{ips[n]:.3f}', ' '.join(f'{x:.1f}' for x in t),
                       f'{flops[n] / 1e9:.1f}', f'{frac:.2f}', mem[n]], widths))
    print(f'ratio beitmm / fastest reference ({precisions[best_ref]}): {ips["beitmm"] / ips[best_ref]:.2f}x')
    if not pair.comparable:
        print('numerical check: skipped (different networks: BEiT relative position tables and layer scale vs '
              "ViTDet's decomposed relative positions; --det-backbone plain compares one network)")
    for k, v in diffs.items():
        tol = TOLERANCE[prec]
        print(f'numerical check ({prec}, same weights): {k} max rel diff {v:.2e} '
              f'({"OK" if v <= tol else "ABOVE"} tolerance {tol:g})')
