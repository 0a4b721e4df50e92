"""`make demo`: one entry point for the demos of each model family.

    python tools/demo.py [--task vision] [--full] [--out demo_out] [--data data/demo] [budget options]
    python -m tools.demo ...        (the same, from the repository root with the .venv's Python)

vision (the default, what `make demo` runs): generate synthetic data, fit a k-means visual vocabulary,
BEiT-pretrain a tiny BEiT on the unlabeled images, then fine-tune classification and linear-head
segmentation (3 seeds) from that checkpoint and, with the same recipe and budget, from scratch; print the
pretrained-vs-scratch table with chance levels and draw demo_out/predictions.png and demo_out/mim/*.png.
`--full` adds the UperNet segmentation pair (pretrained and scratch) and two more linear-head seeds.

Every training stage is a plain `tools/train.py` run of a config in configs/demo/; its full log goes to
demo_out/<stage>.log and a compact line per logging interval (stage, progress, loss, ETA) to the console, then its
wall and CPU time. Metrics are the final validation of each run. Independent stages (pretrained / scratch, seeds,
figures) run two at a time (`--jobs`). Every CPU runs the same float32 arithmetic on its AVX2 code paths, so the
tables match the documented ones (`--native-isa` lets the libraries use AVX-512 / AMX: faster, other last digits).
Adding a task: a module here with `run(args)` (and optionally `add_arguments(group)`), registered in `TASKS`;
the shared helpers are in `stages.py`.
"""
import argparse
import os
import os.path as osp
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence

from . import det, electra, seq2seq, text, the_x, vision, vl, vl_pretrain, zero_shot
from .stages import ROOT, STAGE_TIMES, load_text, use_same_arithmetic


@dataclass
class Task:
    """One family's demo.

    Args:
        help: One line for ``--help``.
        run: Runs the demo from the parsed options.
        add_arguments: Adds the task's own options to its argument group (optional).
    """
    help: str
    run: Callable[[argparse.Namespace], None]
    add_arguments: Optional[Callable[[argparse._ArgumentGroup], None]] = None


TASKS: Dict[str, Task] = {
    'vision': Task('BEiT pretraining vs scratch: classification and segmentation on generated images (default)',
                   vision.run_vision, vision.add_vision_arguments),
    'vl': Task('tiny BEiT-3 on generated VQAv2 / NLVR2 / retrieval / captioning data, metrics vs chance',
               vl.run_vl, vl.add_vl_arguments),
    'seq2seq': Task('s2s-ft pseudo-masked / masked / causal fine-tuning of one MLM-pretrained tiny BERT, ROUGE vs copy',
                    seq2seq.run_seq2seq, seq2seq.add_seq2seq_arguments),
    'electra': Task('ELECTRA / CIM: plain vs hardness-aware sampling vs focal loss, resample rate and downstream',
                    electra.run_electra, electra.add_electra_arguments),
    'the-x': Task('THE-X: tiny BEiT converted, distilled and run on CKKS ciphertext; 3 accuracies, s / sample',
                  the_x.run_the_x, the_x.add_the_x_arguments),
    'vl-pretrain': Task('BEiT-3 masked data modeling on generated scenes / captions / texts, then VQA and retrieval '
                        'from it vs from scratch', vl_pretrain.run_vl_pretrain, vl_pretrain.add_vl_pretrain_arguments),
    'det': Task('Mask R-CNN, tiny BEiT on generated COCO scenes: BEiT-pretrained vs scratch vs trivial, box / mask AP',
                det.run_det, det.add_det_arguments),
    'zero-shot': Task("the VL demo's tiny BEiT-3 retrieval model as a zero-shot colour / shape classifier, 2 seeds, "
                      'vs chance', zero_shot.run_zero_shot, zero_shot.add_zero_shot_arguments),
    'text': Task('real data: MiniLM fine-tuned on real polarity sentences vs scratch (2 seeds), then THE-X '
                 'distilled and one test sentence on ciphertext', text.run_text, text.add_text_arguments),
}


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser: shared options, then one group per task.

    Returns:
        The parser.
    """
    tasks = '\n'.join(f'  {name:10s} {task.help}' for name, task in TASKS.items())
    p = argparse.ArgumentParser(prog='tools/demo.py', description=__doc__, epilog=f'tasks:\n{tasks}',
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--task', choices=sorted(TASKS), default='vision', help='which demo to run (default: vision)')
    p.add_argument('--full', action='store_true',
                   help='also the long experiments (vision: the UperNet pair, linear-head seeds 0-4)')
    p.add_argument('--out', default=osp.join(ROOT, 'demo_out'), help='logs, checkpoints, figures')
    p.add_argument('--data', default=osp.join(ROOT, 'data/demo'), help='where the generated data goes')
    p.add_argument('--threads', type=int, default=1, help='torch threads per stage (default 1)')
    p.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1),
                   help='independent stages run at the same time (default 2, 1 on a 1-core machine; every stage has '
                        'its own fixed thread and worker counts, so the results do not depend on it)')
    p.add_argument('--progress-every', type=float, default=5.0,
                   help='at most one training progress line per this many seconds (0: every logging interval)')
    p.add_argument('--native-isa', action='store_true',
                   help="let ATen / MKL / oneDNN / NumPy use this CPU's widest kernels (AVX-512, AMX) instead of "
                        'the AVX2 ones every CPU has: faster here, tables differ in the last digits')
    for name, task in TASKS.items():
        if task.add_arguments is not None:
            task.add_arguments(p.add_argument_group(f'{name} task'))
    return p


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options of every task.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The parsed options (``out`` and ``data`` made absolute).
    """
    args = build_parser().parse_args(argv)
    args.out, args.data = osp.abspath(args.out), osp.abspath(args.data)
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the chosen task and print every stage's wall and CPU time and the totals.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).
    """
    args = parse_args(argv)
    if not args.native_isa:
        use_same_arithmetic()
    t0, load0 = time.time(), load_text()
    TASKS[args.task].run(args)
    total, cpu = time.time() - t0, sum(s.cpu_seconds for s in STAGE_TIMES)
    times = ', '.join(f'{s.name} {s.seconds:.0f}s' for s in STAGE_TIMES)
    print(f'  stage times          : {times}')
    print(f'  total time           : {total / 60:.1f} min ({total:.0f}s; load average {load0} at start, '
          f'{load_text()} at the end, {os.cpu_count()} cores); stages used {cpu / 60:.1f} CPU min')


if __name__ == '__main__':
    main()
