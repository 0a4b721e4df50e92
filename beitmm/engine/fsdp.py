"""Fully sharded training through mmengine's FlexibleRunner + FSDPStrategy, for models that do not fit one device.

A config asks for it with ``runner_type='FlexibleRunner'`` and ``strategy=dict(type='beitmm.FSDPStrategy', ...)``
(see ``configs/beit3/beit3-l_fsdp_in1k.py``). beitmm adds what mmengine 0.10 lacks:

- :class:`FSDPStrategy`, mmengine's with resume fixed: mmengine calls ``FSDP.optim_state_dict_to_load`` with
  torch 1.x's argument order, which fails on torch 2 ("unhashable type: 'dict'"); and on CPU ranks the optimizer
  state is gathered without "offload to CPU": there torch's offload is a no-op that leaves every state of a
  parameter a view of one reused buffer, so a saved AdamW ``exp_avg`` equals its ``exp_avg_sq``;
- :func:`wrap_transformer_blocks`, an FSDP auto-wrap policy that makes every transformer block its own FSDP unit
  (so only one block's full weights exist at a time), registered as ``'beitmm.wrap_transformer_blocks'``;
- :func:`fit_fsdp_to_device`, used by ``build_runner``: mmengine's FSDPStrategy becomes beitmm's, and without
  CUDA FSDP runs on CPU over gloo (mmengine passes the local rank as a CUDA device id).

Layer-wise lr decay works under FSDP with ``use_orig_params=True`` (mmengine's default): the optimizer constructor
reads the original shapes FSDP recorded (:func:`beitmm.engine.optimizers.layer_decay.fsdp_original_shapes`).
"""
from typing import List

import torch
import torch.nn as nn
from mmengine._strategy import FSDPStrategy as MMEngineFSDPStrategy
from mmengine.config import Config
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

from beitmm.registry import FUNCTIONS, STRATEGIES


@STRATEGIES.register_module()
class FSDPStrategy(MMEngineFSDPStrategy):
    """mmengine's FSDPStrategy, resuming on torch 2 and saving correct optimizer states on CPU (module docstring).

    Args:
        **kwargs: mmengine ``FSDPStrategy``'s arguments.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        osd_config = getattr(self, 'optim_state_dict_config', None)
        if not torch.cuda.is_available() and getattr(osd_config, 'offload_to_cpu', False):
            osd_config.offload_to_cpu = False  # torch aliases the gathered states when "offloading" CPU to CPU

    def load_optim_state_dict(self, state_dict: dict) -> None:
        """Load a (full or sharded) optimizer state saved by :meth:`optim_state_dict`.

        Args:
            state_dict: The optimizer state of the checkpoint.
        """
        optim_state_dict = FSDP.optim_state_dict_to_load(self.model, self.optim_wrapper.optimizer, state_dict)
        self.optim_wrapper.load_state_dict(optim_state_dict)


def _block_types() -> tuple:
    from beitmm.models.layers.multiway import MagnetoMultiwayBlock, MoMEBlock
    from beitmm.models.layers.transformer import Block
    return Block, MagnetoMultiwayBlock, MoMEBlock


@FUNCTIONS.register_module()
def wrap_transformer_blocks(module: nn.Module, recurse: bool, nonwrapped_numel: int, **kwargs) -> bool:
    """FSDP auto-wrap policy: each beitmm transformer block (BEiT, BEiT-3, VLMo) is one FSDP unit.

    Args:
        module: The module FSDP considers.
        recurse: True while FSDP asks whether to descend into ``module``'s children.
        nonwrapped_numel: Parameters of ``module`` not wrapped yet (unused: the decision is by type).
        **kwargs: Other arguments of FSDP's policy protocol (ignored).

    Returns:
        Whether to descend (always) or to wrap ``module`` (when it is a transformer block).
    """
    return True if recurse else isinstance(module, _block_types())


def fit_fsdp_to_device(cfg: Config) -> List[str]:
    """Use beitmm's FSDPStrategy, and on a machine without CUDA shard over CPU ranks (config edited in place).

    Args:
        cfg: A loaded config.

    Returns:
        One line per changed field, for the log.
    """
    strategy = cfg.get('strategy')
    if not isinstance(strategy, dict) or strategy.get('type') not in ('FSDPStrategy', 'beitmm.FSDPStrategy'):
        return []
    changes = []
    if strategy['type'] == 'FSDPStrategy':
        strategy['type'] = 'beitmm.FSDPStrategy'
        changes.append("strategy.type: FSDPStrategy -> beitmm.FSDPStrategy (mmengine's cannot resume on torch 2)")
    wrapper = strategy.get('model_wrapper') or {}
    if not torch.cuda.is_available() and 'device_id' not in wrapper:
        strategy['model_wrapper'] = dict(wrapper, device_id='cpu')  # mmengine's default (local rank) is CUDA's
        changes.append("strategy.model_wrapper.device_id: (local rank, a CUDA device) -> 'cpu' (no CUDA here; gloo)")
    return changes
