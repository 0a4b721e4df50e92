"""Random states of a training run (python, numpy, torch, CUDA) and the other settings its bits depend on.

Every random state a training run draws from is captured and restored here, and the compute settings
besides random state that bit-identical results depend on are described and recorded.

The captured state holds only ints, tuples, lists and tensors, so checkpoints that carry it
still load with ``torch.load(weights_only=True)`` and beitmm's allow-list unchanged.

Bit-identical training (an uninterrupted run vs a resumed one, or two runs of the same config) needs,
besides the random states:

- the same number of intra-op threads: LayerNorm's weight gradient and oneDNN's convolution weight
  gradient split their reduction over threads, so 1 and 2 threads differ (measured 4.6e-5 / 1.5e-5 on
  one call, 5.9e-6 on the weights after 10 steps); no library setting removes this;
- the same machine and library versions (MKL / oneDNN / ATen pick code paths by CPU);
- for MKL, results that do not depend on where the operands sit in memory: without conditional
  numerical reproducibility (CNR) MKL's GEMMs with a transposed operand give different bits when an
  operand starts at another address modulo 64 bytes (measured on an AMD EPYC with MKL 2024.2: up to
  1.7e-5 in float32, 3.6e-14 in float64). ``MKL_CBWR=AUTO`` turns CNR on; MKL reads it once, at its
  first call, so it must be in the environment before anything computes (:func:`apply_deterministic_env`,
  ``tools/train.py --deterministic``).
"""
import contextlib
import os
import random
from typing import Dict, Iterator

import numpy as np
import torch


def get_rng_state() -> dict:
    """The current python, numpy, torch (and CUDA) random states.

    Returns:
        ``python`` (tuple), ``numpy`` (dict of plain values and an int64 tensor),
        ``torch`` (uint8 tensor) and ``cuda`` (list of uint8 tensors, empty without CUDA).
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return dict(
        python=random.getstate(),
        numpy=dict(name=str(name), keys=torch.from_numpy(keys.astype(np.int64)), pos=int(pos),
                   has_gauss=int(has_gauss), cached_gaussian=float(cached)),
        torch=torch.get_rng_state(),
        cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [])


def set_rng_state(state: dict) -> None:
    """Restore states captured by :func:`get_rng_state`.

    Args:
        state: Output of :func:`get_rng_state` (possibly after a checkpoint round trip).
    """
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    npy = state['numpy']
    np.random.set_state((npy['name'], npy['keys'].numpy().astype(np.uint32), npy['pos'], npy['has_gauss'],
                         npy['cached_gaussian']))
    torch.set_rng_state(state['torch'].cpu())
    if state.get('cuda') and torch.cuda.is_available() and len(state['cuda']) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])


@contextlib.contextmanager
def fork_rng() -> Iterator[None]:
    """Run a block (validation, creating a dataloader iterator) without it moving any random state."""
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


# Environment of deterministic kernels: MKL's conditional numerical reproducibility (same bits whatever the
# memory alignment; read at MKL's first call) and cuBLAS's fixed workspace (needed by
# torch.use_deterministic_algorithms on CUDA; read when cuBLAS starts).
DETERMINISTIC_ENV = {'MKL_CBWR': 'AUTO', 'CUBLAS_WORKSPACE_CONFIG': ':4096:8'}


def apply_deterministic_env() -> Dict[str, str]:
    """Put :data:`DETERMINISTIC_ENV` into ``os.environ`` (values already set by the user are kept).

    Effective only if MKL has not run yet in this process (and for processes started afterwards):
    call it before anything computes.

    Returns:
        The values now in the environment, ``{name: value}``.
    """
    for key, value in DETERMINISTIC_ENV.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in DETERMINISTIC_ENV}


def compute_settings() -> dict:
    """The settings besides random state that decide the bits of a training step.

    Returns:
        ``num_threads`` (intra-op threads), ``mkl_cbwr`` (``MKL_CBWR``, '' when unset) and
        ``deterministic_algorithms`` (``torch.use_deterministic_algorithms``).
    """
    return dict(num_threads=int(torch.get_num_threads()), mkl_cbwr=os.environ.get('MKL_CBWR', ''),
                deterministic_algorithms=bool(torch.are_deterministic_algorithms_enabled()))
