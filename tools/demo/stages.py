"""What every demo is made of: stages, run one after the other or a few at a time, and schedules fit to a budget.

A stage is a tool run (``tools/train.py CONFIG ...``, a figure, a data generator) in the repository root: its full
output goes to a log file, one line per logging interval (stage, progress, loss, ETA) to the console, then its wall
time and CPU time (user + system of the stage and the processes it waited for: on a shared machine the CPU time is
what the stage cost, the wall time also counts the other jobs).

Every stage runs the same arithmetic on every x86-64 CPU (:data:`SAME_ARITHMETIC_ENV`, set by the demo's entry
point unless ``--native-isa``): float32 throughout (no demo config asks for mixed precision, and nothing picks
bf16 by CPU), one torch thread per stage, a fixed number of data workers per config, and ATen, MKL, oneDNN and
NumPy held to their AVX2 code paths, so a CPU with AVX-512 (or AVX512-BF16 / AMX) computes what an AVX2-only one
does, as fast per clock, and the table matches the documented one.
"""
import argparse
import glob
import os
import os.path as osp
import queue
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

from .progress import LogRecord, format_progress, parse_log_line

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The kernels every CPU runs (values already in the environment win): AVX2 is what the slowest supported CPU has.
# MKL_CBWR=AVX2 also makes MKL's results independent of memory alignment (conditional numerical reproducibility;
# non-Intel CPUs fall back to its AUTO branch); NumPy's names are its dispatch targets above AVX2.
SAME_ARITHMETIC_ENV = {'ATEN_CPU_CAPABILITY': 'avx2', 'MKL_ENABLE_INSTRUCTIONS': 'AVX2', 'MKL_CBWR': 'AVX2',
                       'ONEDNN_MAX_CPU_ISA': 'AVX2', 'NPY_DISABLE_CPU_FEATURES': 'X86_V4 AVX512_ICL AVX512_SPR'}

HEARTBEAT = 20.0  # seconds without a console line before a stage says it is still running


@dataclass
class StageResult:
    """What a stage left behind.

    Args:
        name: Stage name.
        seconds: Wall time of the child process.
        records: Every parsed progress / metrics record of its log, in order.
        log: Path of the full log.
        cpu_seconds: User + system CPU time of the child and of the processes it waited for (data workers).
        main_cpu_seconds: The child's own share of ``cpu_seconds`` (its data workers run beside it).
    """
    name: str
    seconds: float
    records: List[LogRecord]
    log: str
    cpu_seconds: float = 0.0
    main_cpu_seconds: float = 0.0

    def last_metrics(self, mode: str = 'val') -> Dict[str, float]:
        """Metrics of the last evaluation (``mode`` records with metrics), empty if there was none."""
        for rec in reversed(self.records):
            if rec.mode == mode and any(not k.startswith('loss') for k in rec.metrics):
                return rec.metrics
        return {}


STAGE_TIMES: List[StageResult] = []


_SAY_LOCK = threading.Lock()  # stages running side by side print whole lines


def say(msg: str, out: Optional[TextIO] = None) -> None:
    """Print ``[demo] msg`` at once, as one line even when other stages print at the same time.

    Args:
        msg: The line.
        out: Stream (default ``sys.stdout``).
    """
    out = out or sys.stdout
    with _SAY_LOCK:
        out.write(f'[demo] {msg}\n')
        out.flush()


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
        The stage's wall and CPU time and parsed records.
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
                    say(f'  {name:<24s} still running, {time.time() - t0:.0f}s{status}', out)
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
                    say(f'  {shown}', out)
                    last_shown, pending = time.time(), None
                else:
                    pending = shown
        except BaseException:  # Ctrl-C, or a failure in this loop: the child goes too
            proc.kill()
            proc.wait()
            raise
        cpu, main_cpu = _reap(proc)
    seconds = time.time() - t0
    if proc.returncode:
        with open(log) as f:
            tail = f.readlines()[-40:]
        sys.exit(f'[demo] failed: {" ".join(cmd)}\n{"".join(tail)}\n(full log: {log})')
    result = StageResult(name, seconds, records, log, cpu, main_cpu)
    STAGE_TIMES.append(result)
    say(f'  {name:<24s} done in {seconds:.0f}s, CPU {cpu:.0f}s ({main_cpu:.0f}s in the main process; log: '
        f'{rel(log)})', out)
    return result


def _reap(proc: subprocess.Popen) -> Tuple[float, float]:
    """Wait for a child and set its return code.

    Args:
        proc: The child.

    Returns:
        Its CPU seconds (user + system, its own and those of the processes it waited for, from ``wait4``) and, where
        ``/proc`` shows the exited child before it is reaped (Linux), its own share alone (the stage's critical path:
        the data workers run beside it); else the total twice.
    """
    own = None
    try:
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        with open(f'/proc/{proc.pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()  # fields 14 and 15 (utime, stime) are [11] and [12] here
        own = (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (AttributeError, OSError, IndexError, ValueError):
        pass
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    total = usage.ru_utime + usage.ru_stime
    return total, total if own is None else own


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



def use_same_arithmetic() -> Dict[str, str]:
    """Put :data:`SAME_ARITHMETIC_ENV` into ``os.environ``; values already set are kept.

    It holds for the stages started afterwards, and for this process where torch / NumPy are not imported yet.

    Returns:
        The values now in the environment, ``{name: value}``.
    """
    for key, value in SAME_ARITHMETIC_ENV.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in SAME_ARITHMETIC_ENV}
