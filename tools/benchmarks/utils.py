"""Measurement helpers of ``benchmark.py``: precision, matmul peak, FLOPs, peak memory, timing."""
import contextlib
import ctypes
import gc
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch
from torch.utils.flop_counter import FlopCounterMode

PRECISIONS = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}
TOLERANCE = {'fp32': 1e-4, 'bf16': 5e-2, 'fp16': 2e-2}  # max |a - b| / max |b| of the compared outputs


def native_bf16(device: str) -> bool:
    """True when ``device`` has native bf16 matrix kernels (CUDA >= Ampere; AVX512-BF16 / AMX CPUs)."""
    if device == 'cuda':
        return torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resolve_precision(precision: str, device: str) -> str:
    """'auto' -> 'bf16' where the device runs bf16 natively, else 'fp32' (emulated bf16 is far slower)."""
    if precision == 'auto':
        return 'bf16' if native_bf16(device) else 'fp32'
    if precision not in PRECISIONS:
        raise ValueError(f'unknown precision {precision!r}; choose fp32, bf16, fp16 or auto')
    return precision


def autocast(precision: str, device: str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` for bf16 / fp16, a no-op for fp32."""
    dtype = PRECISIONS[precision]
    return torch.autocast(device, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def sync(device: str) -> None:
    """Wait for the queued kernels on ``device`` (CUDA); a no-op on CPU.

    Args:
        device: 'cpu' or 'cuda'.
    """
    if device == 'cuda':
        torch.cuda.synchronize()


def matmul_peak(precision: str, device: str, n: int = 2048, reps: int = 5) -> float:
    """Best GFLOP/s of an n x n x n matrix product in ``precision`` (the machine's reachable peak).

    The fastest of ``reps`` runs is taken: on a shared machine slower runs measure the other load.
    """
    dtype = PRECISIONS[precision] or torch.float32
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    times = []
    for i in range(reps + 1):
        sync(device)
        start = time.perf_counter()
        torch.mm(a, b)
        sync(device)
        if i:  # first call warms up
            times.append(time.perf_counter() - start)
    return 2 * n**3 / min(times) / 1e9


def count_flops(fn: Callable[[], None]) -> int:
    """FLOPs of one call of ``fn`` (matrix products, convolutions, attention; forward and backward)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def time_alternating(steps: Dict[str, Callable[[], None]], repeats: int, warmup: int,
                     device: str, clock: str = 'wall') -> Dict[str, List[float]]:
    """Seconds per call of each step, run alternately (ABBA order) after ``warmup`` calls each.

    Alternating spreads the load of other processes on a shared machine over all candidates.

    Args:
        steps: The steps by name.
        repeats: Timed calls of each step.
        warmup: Untimed calls of each step first.
        device: 'cpu' or 'cuda' (CUDA is synchronised around each call).
        clock: 'wall' (``perf_counter``) or 'cpu' (``process_time``: this process's CPU seconds, all threads; on a
            CPU shared with other jobs it leaves out the time spent waiting for a core).

    Returns:
        ``{name: [seconds of each timed call]}``.
    """
    names = list(steps)
    for _ in range(warmup):
        for n in names:
            steps[n]()
    now = time.process_time if clock == 'cpu' else time.perf_counter
    times: Dict[str, List[float]] = {n: [] for n in names}
    for r in range(repeats):
        for n in (names if r % 2 == 0 else names[::-1]):
            sync(device)
            start = now()
            steps[n]()
            sync(device)
            times[n].append(now() - start)
    return times


def _status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not found in /proc/self/status')


def _trim_heap() -> None:
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL('libc.so.6').malloc_trim(0)


def peak_step_memory(step: Callable[[], None], device: str) -> Dict[str, float]:
    """Peak memory (MiB) one step adds on top of the resident model, weights and optimizer state.

    CUDA: ``max_memory_allocated`` minus the allocation before the step. CPU: the step runs once to
    create optimizer state; the heap is trimmed (``malloc_trim``) and the kernel's resident
    high-water mark reset (``/proc/self/clear_refs`` = 5); the measured step's ``VmHWM`` minus the
    ``VmRSS`` before it is the step's own peak. No allocator hooks (tracemalloc) slow the step, and
    running each implementation in its own process keeps the two apart.

    Args:
        step: One training or inference step.
        device: 'cpu' or 'cuda'.

    Returns:
        ``{'peak_mib': ..., 'method': ...}``.
    """
    step()
    if device == 'cuda':
        torch.cuda.synchronize()
        gc.collect()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        return dict(peak_mib=(torch.cuda.max_memory_allocated() - base) / 2**20, method='cuda max_memory_allocated')
    _trim_heap()
    base = _status_kb('VmRSS')
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        method = 'VmHWM after clear_refs'
    except OSError:
        method = 'VmHWM without reset (upper bound)'
    step()
    return dict(peak_mib=(_status_kb('VmHWM') - base) / 1024, method=method)


def max_rel_diff(a, b) -> float:
    """Max |a - b| / max |b| over tensors or sequences of tensors."""
    if isinstance(a, (list, tuple)):
        return max(max_rel_diff(x, y) for x, y in zip(a, b, strict=True))
    a, b = a.detach().float(), b.detach().float()
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


def median_ips(times: Sequence[float], batch: int) -> float:
    """Median images per second."""
    return batch / statistics.median(times)


def fmt_row(cells: Sequence, widths: Optional[Sequence[int]] = None) -> str:
    """One row of a plain-text table.

    Args:
        cells: The values of the row.
        widths: Width of each column (default 14 each); one per cell.

    Returns:
        The cells left-justified to their widths, two spaces apart.
    """
    widths = widths or [14] * len(cells)
    return '  '.join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))
