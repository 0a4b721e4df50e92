"""Mixed-precision settings: bf16 autocast where the device supports it, fp16 otherwise."""
import torch


def preferred_amp_dtype(device: str = None) -> str:
    """'bfloat16' when the device runs it natively (CUDA >= Ampere, CPUs with AVX512/AMX), else 'float16'.

    Args:
        device: 'cuda' or 'cpu'; default: CUDA when available.

    Returns:
        The dtype name for mmengine's ``AmpOptimWrapper``.
    """
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda':
        return 'bfloat16' if torch.cuda.is_bf16_supported() else 'float16'
    cap = torch.backends.cpu.get_cpu_capability()
    return 'bfloat16' if cap.startswith('AVX512') or 'AMX' in cap else 'float16'


def amp_optim_wrapper(optim_wrapper: dict) -> dict:
    """Turn an ``OptimWrapper`` config into an ``AmpOptimWrapper`` one with the preferred dtype.

    Args:
        optim_wrapper: The config's ``optim_wrapper`` dict.

    Returns:
        A new dict; an existing ``AmpOptimWrapper`` with an explicit dtype is kept as is.
    """
    cfg = dict(optim_wrapper)
    if cfg.get('type') == 'AmpOptimWrapper' and cfg.get('dtype'):
        return cfg
    cfg['type'] = 'AmpOptimWrapper'
    cfg['dtype'] = preferred_amp_dtype()
    if cfg['dtype'] == 'float16':
        cfg.setdefault('loss_scale', 'dynamic')
    return cfg
