"""Mixed-precision settings: reduced precision only where the device runs it natively."""
import warnings
from typing import Optional

import torch


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX512-BF16 / AMX); emulated bf16 is far slower."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def preferred_amp_dtype(device: Optional[str] = None) -> Optional[str]:
    """The mixed-precision dtype worth using on ``device``, or None when fp32 is fastest.

    CUDA: bf16 on Ampere and later, else fp16. CPU: bf16 when oneDNN runs it natively; otherwise
    None -- on AVX2-only CPUs bf16 and fp16 matrix products are emulated (measured here: bf16
    0.3 GFLOP/s vs fp32 72 GFLOP/s on a 2-core AMD EPYC).

    Args:
        device: 'cuda' or 'cpu'; default: CUDA when available.

    Returns:
        'bfloat16', 'float16' or None.
    """
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda':
        return 'bfloat16' if torch.cuda.is_bf16_supported() else 'float16'
    return 'bfloat16' if cpu_has_native_bf16() else None


def amp_optim_wrapper(optim_wrapper: dict, device: Optional[str] = None) -> dict:
    """Turn an ``OptimWrapper`` config into a ``beitmm.AmpOptimWrapper`` one with the preferred dtype.

    Args:
        optim_wrapper: The config's ``optim_wrapper`` dict.
        device: 'cuda' or 'cpu'; default: CUDA when available.

    Returns:
        A new dict; an existing ``AmpOptimWrapper`` (mmengine's or beitmm's) with an explicit dtype is kept as
        is. Where no reduced precision is native (AVX2-only CPUs) the wrapper stays fp32, with a warning.
    """
    cfg = dict(optim_wrapper)
    if str(cfg.get('type')).rpartition('.')[2] == 'AmpOptimWrapper' and cfg.get('dtype'):
        return cfg
    dtype = preferred_amp_dtype(device)
    if dtype is None:
        warnings.warn('--amp: this CPU has no native bf16/fp16 matrix units (emulated reduced precision is many '
                      'times slower than fp32), so training stays in fp32', stacklevel=2)
        return cfg
    cfg['type'] = 'beitmm.AmpOptimWrapper'  # mmengine's, also counting the steps skipped on overflow
    cfg['dtype'] = dtype
    if dtype == 'float16':
        cfg.setdefault('loss_scale', 'dynamic')
    return cfg
