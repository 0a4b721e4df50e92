"""`make demo`: one entry point for the demos of each model family, `python tools/demo.py --task NAME`.

    python tools/demo.py [--task vision] [--full] [--out demo_out] [--data data/demo] [budget options]

vision (the default, what `make demo` runs): generate synthetic data, fit a k-means visual vocabulary,
BEiT-pretrain a tiny BEiT on the unlabeled images, then fine-tune classification and linear-head
segmentation (3 seeds) from that checkpoint and, with the same recipe and budget, from scratch; print the
pretrained-vs-scratch table with chance levels and draw demo_out/predictions.png and demo_out/mim/*.png.
`--full` adds the UperNet segmentation pair (pretrained and scratch) and two more linear-head seeds.

Every training stage is a plain `tools/train.py` run of a config in configs/demo/ (the pretraining checkpoint
initialises the downstream configs as it is, no conversion); its full log goes to demo_out/<stage>.log and a
compact line per logging interval (stage, progress, loss, ETA) to the console, then its time. Metrics are the final
validation of each run. `--jobs 2` runs independent stages (pretrained / scratch, seeds, figures) two at a time.
Adding a task: write `run_<name>(args) -> None` (and optionally `add_<name>_arguments(group)`) and register it
in `TASKS`; the shared helpers (`run_stage`, `train_stage`, `parse_log_line`) are importable from here.
"""
import os.path as _osp
import sys as _sys

_sys.path.append(_osp.dirname(_osp.abspath(__file__)))  # tools/
import _bootstrap  # noqa: E402,F401,I001  (re-runs this tool with .venv/bin/python where needed)
import argparse
import glob
import json
import os
import os.path as osp
import queue
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PRE_CFG = osp.join(ROOT, 'configs/demo/beit-tiny_demo_pretrain.py')
CLS_CFG = osp.join(ROOT, 'configs/demo/beit-tiny_demo_cls.py')
SEG_CFG = osp.join(ROOT, 'configs/demo/upernet_beit-tiny_demo_seg.py')
LIN_CFG = osp.join(ROOT, 'configs/demo/linear_beit-tiny_demo_seg.py')
SEEDS, FULL_SEEDS = (0, 1, 2), (0, 1, 2, 3, 4)
HEARTBEAT = 20.0  # seconds without a console line before a stage says it is still running
TIMING_KEYS = ('lr', 'base_lr', 'eta', 'time', 'data_time', 'memory', 'grad_norm')


# ----------------------------------------------------------------------------------------------------------------
# progress: mmengine log lines -> one compact console line per logging interval
# ----------------------------------------------------------------------------------------------------------------
LOG_RE = re.compile(r'\b(?P<unit>Epoch|Iter)\((?P<mode>train|val|test)\)\s*(?:\[\s*(?P<epoch>\d+)\])?'
                    r'\[\s*(?P<iter>\d+)/(?P<total>\d+)\]\s*(?P<rest>.*)$')
ETA_RE = re.compile(r'\beta: (?P<eta>(?:\d+ days?, )?\d+:\d\d:\d\d)')
VALUE_RE = re.compile(r'(?P<key>[A-Za-z_][\w./-]*): (?P<value>-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\b')


@dataclass
class LogRecord:
    """One mmengine progress line.

    Args:
        mode: ``'train'``, ``'val'`` or ``'test'``.
        epoch: The epoch of epoch-based training / validation lines, else None.
        iter: Iteration within the epoch (epoch-based) or overall (iteration-based).
        total: Iterations per epoch (epoch-based) or in the whole run (iteration-based).
        eta: Remaining time of the run as mmengine prints it (``'0:01:10'``), or None.
        values: Every numeric ``key: value`` pair of the line (losses, metrics, lr, times).
    """
    mode: str
    epoch: Optional[int]
    iter: int
    total: int
    eta: Optional[str] = None
    values: Dict[str, float] = field(default_factory=dict)

    @property
    def metrics(self) -> Dict[str, float]:
        """The values that are neither timings nor learning rates (evaluation metrics, losses)."""
        return {k: v for k, v in self.values.items() if k not in TIMING_KEYS}


def parse_log_line(line: str) -> Optional[LogRecord]:
    """Parse an mmengine logger line such as ``Epoch(train) [3][ 40/62]  ... eta: 0:01:10 ... loss: 4.2``.

    Args:
        line: One line of a training or test log.

    Returns:
        The parsed record, or None when the line is not a progress / metrics line.
    """
    m = LOG_RE.search(line.rstrip())
    if m is None:
        return None
    rest = m.group('rest')
    eta = ETA_RE.search(rest)
    values = {v.group('key'): float(v.group('value')) for v in VALUE_RE.finditer(ETA_RE.sub('', rest))}
    return LogRecord(mode=m.group('mode'), epoch=int(m.group('epoch')) if m.group('epoch') else None,
                     iter=int(m.group('iter')), total=int(m.group('total')), eta=eta.group('eta') if eta else None,
                     values=values)


def format_progress(stage: str, rec: LogRecord, max_epochs: Optional[int] = None) -> Optional[str]:
    """The console line for a record: progress, loss and ETA while training, metrics after validation.

    Args:
        stage: Stage name shown first.
        rec: A parsed log line.
        max_epochs: Epochs of an epoch-based run (for the overall percentage); None for iteration-based runs.

    Returns:
        The line, or None for records not worth a console line (progress lines inside validation).
    """
    if rec.mode == 'train':
        if rec.epoch is not None:
            done = (rec.epoch - 1) * rec.total + rec.iter
            epochs = max_epochs or rec.epoch
            where = f'epoch {rec.epoch:>{len(str(epochs))}}/{epochs} [{rec.iter:>{len(str(rec.total))}}/{rec.total}]'
            frac = done / (epochs * rec.total)
        else:
            where = f'iter {rec.iter:>{len(str(rec.total))}}/{rec.total}'
            frac = rec.iter / rec.total
        parts = [f'{stage:<24s} {min(frac, 1.0):4.0%}  {where}']
        if 'loss' in rec.values:
            parts.append(f'loss {rec.values["loss"]:.4f}')
        for key, value in rec.values.items():
            if key.endswith('acc') or key.endswith('acc_seg') or key.startswith('accuracy'):
                parts.append(f'{key.removeprefix("decode.")} {value:.1f}')
        if rec.eta:
            parts.append(f'eta {rec.eta}')
        return '  '.join(parts)
    metrics = {k: v for k, v in rec.metrics.items() if not k.startswith('loss')}
    if not metrics:
        return None
    when = f' after epoch {rec.epoch}' if rec.epoch is not None else ''
    shown = '  '.join(f'{k} {v:.2f}' for k, v in metrics.items())
    return f'{stage:<24s} {rec.mode}{when}: {shown}'


# ----------------------------------------------------------------------------------------------------------------
# stages: a child process, its log file and the console
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class StageResult:
    """What a stage left behind.

    Args:
        name: Stage name.
        seconds: Wall time of the child process.
        records: Every parsed progress / metrics record of its log, in order.
        log: Path of the full log.
    """
    name: str
    seconds: float
    records: List[LogRecord]
    log: str

    def last_metrics(self, mode: str = 'val') -> Dict[str, float]:
        """Metrics of the last evaluation (``mode`` records with metrics), empty if there was none."""
        for rec in reversed(self.records):
            if rec.mode == mode and any(not k.startswith('loss') for k in rec.metrics):
                return rec.metrics
        return {}


STAGE_TIMES: List[StageResult] = []


def _say(msg: str, out: Optional[TextIO] = None) -> None:
    print(f'[demo] {msg}', file=out or sys.stdout, flush=True)


def run_stage(name: str, cmd: Sequence[str], log: str, max_epochs: Optional[int] = None, threads: int = 1,
              progress_every: float = 5.0, out: Optional[TextIO] = None) -> StageResult:
    """Run one tool as a child process: full output to ``log``, a compact progress line per logging interval.

    Training lines are shown at most every ``progress_every`` seconds (the last one of a run always); evaluation
    results always. When the child prints nothing for ``HEARTBEAT`` seconds, a line says it is still running.
    On failure the log's tail is printed and the demo stops.

    Args:
        name: Stage name for the console.
        cmd: The command (``[python, 'tools/train.py', ...]``), run in the repository root.
        log: Where the child's stdout and stderr go.
        max_epochs: Epochs of an epoch-based training run, for the progress percentage.
        threads: ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` of the child (1 is fastest for the tiny demo models on
            2 shared cores: the data workers use the other core, and no thread waits for a descheduled sibling).
        progress_every: Minimum seconds between two training progress lines (0: every logging interval).
        out: Console stream (default ``sys.stdout``).

    Returns:
        The stage's wall time and parsed records.
    """
    out = out or sys.stdout
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    t0 = time.time()
    records: List[LogRecord] = []
    lines: 'queue.Queue[Optional[str]]' = queue.Queue()
    os.makedirs(osp.dirname(osp.abspath(log)), exist_ok=True)
    with open(log, 'w') as f:
        proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
                                text=True, errors='replace', bufsize=1)

        def pump() -> None:
            for text in proc.stdout:
                lines.put(text)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        last_shown, pending = 0.0, None  # the first progress line is always shown
        try:
            while True:
                try:
                    text = lines.get(timeout=HEARTBEAT)
                except queue.Empty:
                    if pending:  # a progress line the throttle held back
                        status = f' (last: {pending[len(f"{name:<24s} "):].strip()})'
                    else:
                        status = '' if records else ' (no progress line yet)'
                    _say(f'  {name:<24s} still running, {time.time() - t0:.0f}s{status}', out)
                    last_shown, pending = time.time(), None
                    continue
                if text is None:
                    break
                f.write(text)
                f.flush()
                rec = parse_log_line(text)
                if rec is None:
                    continue
                records.append(rec)
                shown = format_progress(name, rec, max_epochs)
                if shown is None:
                    continue
                last_iter = rec.mode == 'train' and rec.iter == rec.total and (
                    rec.epoch is None or max_epochs is None or rec.epoch == max_epochs)
                if rec.mode != 'train' or last_iter or time.time() - last_shown >= progress_every:
                    _say(f'  {shown}', out)
                    last_shown, pending = time.time(), None
                else:
                    pending = shown
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    seconds = time.time() - t0
    if proc.returncode:
        with open(log) as f:
            tail = f.readlines()[-40:]
        sys.exit(f'[demo] failed: {" ".join(cmd)}\n{"".join(tail)}\n(full log: {log})')
    result = StageResult(name, seconds, records, log)
    STAGE_TIMES.append(result)
    _say(f'  {name:<24s} done in {seconds:.0f}s (log: {rel(log)})', out)
    return result


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint a training run in ``work_dir`` saved last.

    Args:
        work_dir: The run's work dir.

    Returns:
        Path of the checkpoint (mmengine's ``last_checkpoint`` pointer, else the newest ``*.pth``).
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            path = f.read().strip()
        if osp.isfile(path):
            return path
    ckpts = sorted(glob.glob(osp.join(work_dir, '*.pth')), key=osp.getmtime)
    if not ckpts:
        sys.exit(f'[demo] no checkpoint in {work_dir}')
    return ckpts[-1]


def run_parallel(calls: Sequence[Callable[[], Any]], jobs: int = 1) -> List[Any]:
    """Run independent stages, at most ``jobs`` at a time (in order, one by one, when ``jobs`` is 1).

    Args:
        calls: Functions without arguments, each running one stage.
        jobs: Concurrent stages.

    Returns:
        Their results, in the order of ``calls``.
    """
    if jobs <= 1 or len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(call) for call in calls]
        try:
            return [f.result() for f in futures]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def train_stage(args: argparse.Namespace, name: str, cfg: str, work: str, opts: Sequence[str],
                max_epochs: Optional[int] = None, evaluate: bool = True) -> Dict:
    """Train a config with tools/train.py as a stage (log ``<work>.log``) and read its final validation.

    Args:
        args: Demo options (``threads``, ``progress_every``).
        name: Stage name.
        cfg: Config path.
        work: Work dir (emptied of old checkpoints first).
        opts: ``--cfg-options`` entries.
        max_epochs: Epochs of an epoch-based config (progress percentage).
        evaluate: Whether the run ends with a validation whose metrics are returned (not for pretraining).

    Returns:
        The final validation metrics plus ``checkpoint`` (path), ``seconds`` and ``records`` (parsed log lines).
    """
    for old in glob.glob(osp.join(work, '*.pth')) + glob.glob(osp.join(work, 'last_checkpoint')):
        os.remove(old)
    res = run_stage(name, [sys.executable, 'tools/train.py', cfg, '--work-dir', work, '--cfg-options', *opts],
                    work + '.log', max_epochs=max_epochs, threads=args.threads, progress_every=args.progress_every)
    metrics = res.last_metrics('val')
    if evaluate and not metrics:
        sys.exit(f'[demo] {name}: no validation result in {res.log}')
    return dict(metrics, checkpoint=last_checkpoint(work), seconds=res.seconds, records=res.records)


@lru_cache(maxsize=None)
def _config(path: str) -> Any:
    from mmengine.config import Config
    return Config.fromfile(path, import_custom_modules=False)


def config_value(cfg: str, key: str) -> Any:
    """A (dotted) entry of a config file, read without importing its custom modules.

    Args:
        cfg: Config path.
        key: Dotted key, e.g. ``'train_cfg.max_epochs'``.

    Returns:
        The value.
    """
    node = _config(cfg)
    for part in key.split('.'):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def rel(path: str) -> str:
    """``path`` relative to the repository when it is inside it, else as it is."""
    r = osp.relpath(path, ROOT)
    return path if r.startswith('..') else r


def load_text() -> str:
    """The 1-minute load average, for timings taken on a shared machine."""
    try:
        return f'{os.getloadavg()[0]:.1f}'
    except OSError:
        return '?'


# ----------------------------------------------------------------------------------------------------------------
# the vision task
# ----------------------------------------------------------------------------------------------------------------
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


def epoch_schedule(epochs: int, warmup: int) -> List[str]:
    """cfg-options for ``epochs`` epochs of linear warm-up (``param_scheduler.0``) + cosine (``.1``).

    Args:
        epochs: Training epochs.
        warmup: The config's warm-up epochs (at most half of a shorter run; none for a 1-epoch run).

    Returns:
        ``--cfg-options`` entries.
    """
    w = min(warmup, epochs // 2)
    warm = [f'param_scheduler.0.end={w}'] if w else ['param_scheduler.0.start_factor=1.0',
                                                      f'param_scheduler.0.end={epochs}']
    return [f'train_cfg.max_epochs={epochs}', *warm, f'param_scheduler.1.begin={w}', f'param_scheduler.1.end={epochs}']


def iter_schedule(iters: int, warmup: int) -> List[str]:
    """cfg-options for ``iters`` iterations of warm-up + poly decay, validated and saved at the end.

    Args:
        iters: Training iterations.
        warmup: The config's warm-up iterations (shortened to half of a shorter run).

    Returns:
        ``--cfg-options`` entries.
    """
    w = max(1, min(warmup, iters // 2))
    return [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}', f'param_scheduler.0.end={w}',
            f'param_scheduler.1.begin={w}', f'param_scheduler.1.end={iters}',
            f'default_hooks.checkpoint.interval={iters}']


def run_vision(args: argparse.Namespace) -> None:
    """BEiT pretraining vs scratch on generated data: classification, linear-head (and UperNet) segmentation.

    Args:
        args: Parsed demo options.
    """
    os.makedirs(args.out, exist_ok=True)
    py = sys.executable
    seeds = tuple(args.seeds) if args.seeds else (FULL_SEEDS if args.full else SEEDS)
    upernet = args.full if args.upernet is None else args.upernet
    pre_epochs = args.pretrain_epochs or config_value(PRE_CFG, 'train_cfg.max_epochs')
    cls_epochs = args.cls_epochs or config_value(CLS_CFG, 'train_cfg.max_epochs')
    seg_iters = args.seg_iters or config_value(LIN_CFG, 'train_cfg.max_iters')
    n_steps = 6 if upernet else 5
    step = iter(range(1, n_steps + 1))
    header = lambda text: _say(f'{next(step)}/{n_steps} {text}')  # noqa: E731
    _say(f'vision task{" (--full)" if args.full else ""}: load average {load_text()} on {os.cpu_count()} cores; '
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
    run_stage('vocabulary', [py, 'tools/misc/fit_kmeans_tokenizer.py', f'{args.data}/unlabeled', vocab,
                             '--patch-size', '8', '--vocab-size', '256', '--view-size', '64'],
              osp.join(args.out, 'vocab.log'), threads=args.threads)
    cls_opts = [f'{k}.dataset.data_root={args.data}/imagenet'
                for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    seg_root = f'{args.data}/ade/ADEChallengeData2016'
    seg_opts = [f'{k}.dataset.data_root={seg_root}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]

    header(f'BEiT pretraining on the unlabeled images, {pre_epochs} epochs (configs/demo/beit-tiny_demo_pretrain.py)')
    pre_dir = osp.join(args.out, 'pretrain')
    pre_sched = epoch_schedule(pre_epochs, config_value(PRE_CFG, 'param_scheduler.0.end'))
    pre = train_stage(args, 'pretrain', PRE_CFG, pre_dir,
                      [f'train_dataloader.dataset.data_root={args.data}/unlabeled',
                       f'model.target_generator.checkpoint={vocab}', *pre_sched],
                      max_epochs=pre_epochs, evaluate=False)
    pre_ckpt = pre['checkpoint']
    mim_acc = [r.values['mim_acc'] for r in pre['records'] if r.mode == 'train' and 'mim_acc' in r.values]

    header(f'classification, {cls_epochs} epochs, same recipe and budget: from the pretrained checkpoint and from '
           'scratch')
    cls_sched = epoch_schedule(cls_epochs, config_value(CLS_CFG, 'param_scheduler.0.end'))
    inits = (('pretrained', [f'load_from={pre_ckpt}']), ('scratch', []))
    runs = run_parallel([partial(train_stage, args, f'cls {init}', CLS_CFG, osp.join(args.out, f'cls_{init}'),
                                 [*cls_opts, *cls_sched, *load], max_epochs=cls_epochs) for init, load in inits],
                        args.jobs)
    results: Dict = {('cls', init): r for (init, _), r in zip(inits, runs, strict=True)}

    header(f'segmentation with a linear head on the backbone (the backbone does all the work), {seg_iters} '
           f'iterations, seeds {seeds}: from the pretrained checkpoint and from scratch')
    seg_sched = iter_schedule(seg_iters, config_value(LIN_CFG, 'param_scheduler.0.end'))
    runs = run_parallel([partial(train_stage, args, f'linseg {init} seed {s}', LIN_CFG,
                                 osp.join(args.out, f'linseg_{init}_seed{s}'),
                                 [*seg_opts, *seg_sched, *load, f'randomness.seed={s}'])
                         for init, load in inits for s in seeds], args.jobs)
    for i, (init, _) in enumerate(inits):
        mine = runs[i * len(seeds):(i + 1) * len(seeds)]
        results[('linseg', init)] = dict(mIoU=sum(r['mIoU'] for r in mine) / len(mine),
                                         seeds=[r['mIoU'] for r in mine], checkpoint=mine[0]['checkpoint'])

    if upernet:
        header(f'UperNet segmentation, {seg_iters} iterations, seed 0: from the same pretrained checkpoint and '
               'from scratch')
        runs = run_parallel([partial(train_stage, args, f'upernet {init}', SEG_CFG, osp.join(args.out, f'seg_{init}'),
                                     [*seg_opts, *seg_sched, *load]) for init, load in inits], args.jobs)
        results.update({('seg', init): r for (init, _), r in zip(inits, runs, strict=True)})

    seg_kind = 'seg' if upernet else 'linseg'
    header(f'drawing predictions (classifier and {"UperNet" if upernet else "linear-head"} segmentor, pretrained) '
           'and what pretraining learned (masks, predicted tokens, cls attention)')
    png = osp.join(args.out, 'predictions.png')
    imgs = sorted(glob.glob(osp.join(args.data, 'unlabeled', '*.jpg')))[:4]
    run_parallel([
        partial(run_stage, 'predictions figure', [
            py, 'tools/analysis_tools/visualize_predictions.py', '--cls-config', CLS_CFG, '--cls-checkpoint',
            results[('cls', 'pretrained')]['checkpoint'], '--seg-config', SEG_CFG if upernet else LIN_CFG,
            '--seg-checkpoint', results[(seg_kind, 'pretrained')]['checkpoint'], '--data', args.data, '--out', png],
            osp.join(args.out, 'visualize.log'), threads=args.threads),
        partial(run_stage, 'MIM figures', [
            py, 'tools/analysis_tools/visualize_mim.py', PRE_CFG, pre_ckpt, '--images', *imgs, '--out',
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
                       stages={s.name: round(s.seconds, 1) for s in STAGE_TIMES}), f, indent=2)


# ----------------------------------------------------------------------------------------------------------------
# tasks and entry point
# ----------------------------------------------------------------------------------------------------------------
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


def run_vl_task(args: argparse.Namespace) -> None:
    """The VL demo (tools/demo_vl.py), given this module's stage helpers."""
    from demo_vl import run_vl
    run_vl(args, sys.modules[__name__])


def add_vl_task_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the VL demo (tools/demo_vl.py)."""
    from demo_vl import add_vl_arguments
    add_vl_arguments(group)


def run_seq2seq_task(args: argparse.Namespace) -> None:
    """The seq2seq demo (tools/demo_seq2seq.py), given this module's stage helpers."""
    from demo_seq2seq import run_seq2seq
    run_seq2seq(args, sys.modules[__name__])


def add_seq2seq_task_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the seq2seq demo (tools/demo_seq2seq.py)."""
    from demo_seq2seq import add_seq2seq_arguments
    add_seq2seq_arguments(group)


def run_electra_task(args: argparse.Namespace) -> None:
    """The ELECTRA demo (tools/demo_electra.py), given this module's stage helpers."""
    from demo_electra import run_electra
    run_electra(args, sys.modules[__name__])


def add_electra_task_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the ELECTRA demo (tools/demo_electra.py)."""
    from demo_electra import add_electra_arguments
    add_electra_arguments(group)
def run_the_x_task(args: argparse.Namespace) -> None:
    """The THE-X demo (tools/demo_the_x.py), given this module's stage helpers."""
    from demo_the_x import run_the_x
    run_the_x(args, sys.modules[__name__])


def add_the_x_task_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the THE-X demo (tools/demo_the_x.py)."""
    from demo_the_x import add_the_x_arguments
    add_the_x_arguments(group)
def run_vl_pretrain_task(args: argparse.Namespace) -> None:
    """The VL pretraining demo (tools/demo_vl_pretrain.py), given this module's stage helpers."""
    from demo_vl_pretrain import run_vl_pretrain
    run_vl_pretrain(args, sys.modules[__name__])


def add_vl_pretrain_task_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the VL pretraining demo (tools/demo_vl_pretrain.py)."""
    from demo_vl_pretrain import add_vl_pretrain_arguments
    add_vl_pretrain_arguments(group)


TASKS: Dict[str, Task] = {
    'vision': Task('BEiT pretraining vs scratch: classification and segmentation on generated images (default)',
                   run_vision, add_vision_arguments),
    'vl': Task('tiny BEiT-3 on generated VQAv2 / NLVR2 / retrieval / captioning data, metrics vs chance',
               run_vl_task, add_vl_task_arguments),
    'seq2seq': Task('s2s-ft pseudo-masked / masked / causal fine-tuning of one MLM-pretrained tiny BERT, ROUGE vs copy',
                    run_seq2seq_task, add_seq2seq_task_arguments),
    'electra': Task('ELECTRA / CIM: plain vs hardness-aware sampling vs focal loss, resample rate and downstream',
                    run_electra_task, add_electra_task_arguments),
    'the-x': Task('THE-X: tiny BEiT converted, distilled and run on CKKS ciphertext; 3 accuracies, s / sample',
                  run_the_x_task, add_the_x_task_arguments),
    'vl-pretrain': Task('BEiT-3 masked data modeling on generated scenes / captions / texts, then VQA and retrieval '
                        'from it vs from scratch', run_vl_pretrain_task, add_vl_pretrain_task_arguments),
}


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser: shared options, then one group per task.

    Returns:
        The parser.
    """
    tasks = '\n'.join(f'  {name:10s} {task.help}' for name, task in TASKS.items())
    p = argparse.ArgumentParser(description=__doc__, epilog=f'tasks:\n{tasks}',
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--task', choices=sorted(TASKS), default='vision', help='which demo to run (default: vision)')
    p.add_argument('--full', action='store_true',
                   help='also the long experiments (vision: the UperNet pair, linear-head seeds 0-4)')
    p.add_argument('--out', default=osp.join(ROOT, 'demo_out'), help='logs, checkpoints, figures')
    p.add_argument('--data', default=osp.join(ROOT, 'data/demo'), help='where the generated data goes')
    p.add_argument('--threads', type=int, default=1, help='torch threads per stage (default 1)')
    p.add_argument('--jobs', type=int, default=1,
                   help='independent stages run at the same time (default 1: one after the other)')
    p.add_argument('--progress-every', type=float, default=5.0,
                   help='at most one training progress line per this many seconds (0: every logging interval)')
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
    """Run the chosen task and print every stage's time and the total.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).
    """
    args = parse_args(argv)
    t0, load0 = time.time(), load_text()
    TASKS[args.task].run(args)
    total = time.time() - t0
    times = ', '.join(f'{s.name} {s.seconds:.0f}s' for s in STAGE_TIMES)
    print(f'  stage times          : {times}')
    print(f'  total time           : {total / 60:.1f} min ({total:.0f}s; load average {load0} at start, '
          f'{load_text()} at the end, {os.cpu_count()} cores)')


if __name__ == '__main__':
    main()
