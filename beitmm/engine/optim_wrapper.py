"""Mixed-precision optimizer wrapper that counts overflow-skipped steps and logs finite grad norms.

With fp16 dynamic loss scaling, the scaler skips every step whose gradients overflow, but
mmengine's ``AmpOptimWrapper`` still logs that step's infinite gradient norm, so window means of
``grad_norm`` read ``inf`` / ``nan`` (the unilm ``grad_norm: nan`` reports). This wrapper logs the
norm of applied steps only and counts skipped steps apart (``skipped_steps``, with the current
``loss_scale``). It also runs on CPU (mmengine's asserts a GPU; CPU fp16 autocast is refused by
``mmengine.runner.amp.autocast``), using ``torch.amp.GradScaler`` / ``torch.autocast`` directly.
``beitmm.engine.runner.build_runner`` uses it wherever a config asks for ``AmpOptimWrapper``.
"""
import math
from contextlib import contextmanager
from typing import Union

import torch
from mmengine.optim import AmpOptimWrapper as _MMEngineAmpOptimWrapper
from mmengine.optim import OptimWrapper

from beitmm.registry import OPTIM_WRAPPERS


def _device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(_MMEngineAmpOptimWrapper):
    """mmengine ``AmpOptimWrapper`` with skipped-step accounting; also on CPU.

    Args:
        loss_scale: 'dynamic', a static scale, or ``GradScaler`` kwargs.
            Defaults to 'dynamic'.
        dtype: Autocast dtype ('float16', 'bfloat16').
            Defaults to None (float16 on CUDA, bfloat16 on CPU).
        **kwargs: ``OptimWrapper`` arguments (optimizer, clip_grad, accumulative_counts).
    """

    def __init__(self, loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype, None] = None, **kwargs) -> None:
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        if loss_scale == 'dynamic':
            scaler_kwargs = {}
        elif isinstance(loss_scale, (int, float)):
            self._scale_update_param = float(loss_scale)
            scaler_kwargs = dict(init_scale=float(loss_scale))
        elif isinstance(loss_scale, dict):
            scaler_kwargs = dict(loss_scale)
        else:
            raise TypeError(f'loss_scale must be "dynamic", a number or a dict of GradScaler arguments, '
                            f'got {loss_scale!r}')
        if isinstance(dtype, str):
            if dtype not in self.valid_dtypes:
                raise ValueError(f'AmpOptimWrapper dtype must be one of {self.valid_dtypes}, got {dtype!r}')
            dtype = getattr(torch, dtype)
        self.cast_dtype = dtype
        # bf16 needs no loss scaling: the scaler is then disabled (scale stays 1, nothing skipped)
        self.loss_scaler = torch.amp.GradScaler(_device(), enabled=dtype != torch.bfloat16, **scaler_kwargs)
        self.skipped_steps = 0

    def _clip_grad(self) -> None:
        """Clip gradients; log the norm only when finite (overflowed steps are skipped anyway)."""
        params = [p for g in self.optimizer.param_groups for p in g['params']
                  if p.requires_grad and p.grad is not None]
        if params:
            norm = self.clip_func(params, **self.clip_grad_kwargs)
            if norm is not None and math.isfinite(float(norm)):
                self.message_hub.update_scalar(f'train/{self.grad_name}', float(norm))

    def step(self, **kwargs) -> None:
        """Unscale, clip, step (skipped on overflow), update the scale; count skipped steps.

        Args:
            **kwargs: Passed to ``optimizer.step``.
        """
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        if self.loss_scaler.is_enabled():  # found_inf is filled by unscale_ and cleared by update
            found_inf = self.loss_scaler._found_inf_per_device(self.optimizer)
            self.skipped_steps += int(sum(v.item() for v in found_inf.values()) > 0)
        self.loss_scaler.update(self._scale_update_param)
        if self.loss_scaler.is_enabled():
            self.message_hub.update_scalar('train/loss_scale', float(self.loss_scaler.get_scale()))
        self.message_hub.update_scalar('train/skipped_steps', float(self.skipped_steps))

    def state_dict(self) -> dict:
        """Optimizer, loss scaler and skipped-step count.

        Returns:
            dict: The state.
        """
        state = super().state_dict()
        state['skipped_steps'] = self.skipped_steps
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer, loss scaler and skipped-step count.

        Args:
            state_dict: Output of :meth:`state_dict`.
        """
        state_dict = dict(state_dict)
        self.skipped_steps = int(state_dict.pop('skipped_steps', 0))
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        """Gradient-accumulation context plus ``torch.autocast`` on the run's device.

        Args:
            model: The training model.
        """
        dtype = self.cast_dtype or (torch.float16 if _device() == 'cuda' else torch.bfloat16)
        with OptimWrapper.optim_context(self, model), torch.autocast(device_type=_device(), dtype=dtype):
            yield
