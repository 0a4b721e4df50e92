"""Stop on a NaN / Inf loss with the iteration, the loss terms and the last good checkpoint.

mmengine trains on through non-finite losses: the weights become NaN, later checkpoints are
useless, and the log only shows ``loss: nan``. ``NonFiniteLossHook`` checks the logged loss
terms after every iteration, before any other hook records them or saves a checkpoint, and
raises :class:`NonFiniteLossError`. Under distributed training it averages the logged terms over
all ranks first (mmengine logs rank 0's terms only), so the logged loss is that of the whole
batch and every rank stops together instead of the others waiting for a dead rank.
"""
import math
import os.path as osp
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.hooks import Hook

from beitmm.registry import HOOKS

_CAUSES = ('Usual causes: a learning rate too high for the batch size (check auto_scale_lr), fp16 overflow '
           '(use bf16 or clip_grad), a target or input with NaN, or a masking setting that leaves nothing '
           'to predict.')


class NonFiniteLossError(FloatingPointError):
    """A training loss term became NaN or infinite."""


def last_checkpoint(runner) -> Optional[str]:
    """The newest complete checkpoint of the run, if any.

    Args:
        runner: The runner.

    Returns:
        str | None: Its path.
    """
    path = runner.message_hub.get_info('last_ckpt')
    marker = osp.join(runner.work_dir, 'last_checkpoint')
    if path is None and osp.isfile(marker):
        with open(marker) as f:
            path = f.read().strip() or None
    return path


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` on a NaN / Inf loss term; average logged terms over ranks.

    Added to every run by ``beitmm.engine.runner.build_runner``.

    Args:
        sync_across_ranks: Average the logged loss terms over ranks. Defaults to True.
    """

    priority = 'HIGHEST'  # before RuntimeInfoHook logs the terms and CheckpointHook saves

    def __init__(self, sync_across_ranks: bool = True) -> None:
        self.sync_across_ranks = sync_across_ranks

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        """Average the loss terms over ranks, then stop if any is not finite.

        Args:
            runner: The runner.
            batch_idx: Batch index in the epoch.
            data_batch: The batch.
            outputs: Logged loss terms (``log_vars``) of the iteration.

        Raises:
            NonFiniteLossError: A term is NaN or infinite.
        """
        if not outputs:
            return
        keys = [k for k, v in outputs.items() if isinstance(v, (torch.Tensor, float, int))]
        values = torch.tensor([float(torch.as_tensor(outputs[k]).detach()) for k in keys], dtype=torch.float64)
        if self.sync_across_ranks and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(values)
            values /= dist.get_world_size()
            for k, v in zip(keys, values.tolist(), strict=True):
                outputs[k] = torch.tensor(v) if isinstance(outputs[k], torch.Tensor) else v
        bad = [k for k, v in zip(keys, values.tolist(), strict=True) if not math.isfinite(v)]
        if not bad:
            return
        terms = ', '.join(f'{k}={v:.6g}' for k, v in zip(keys, values.tolist(), strict=True))
        ckpt = last_checkpoint(runner)
        where = (f'The last complete checkpoint is {ckpt}; resume from it with `tools/train.py CONFIG --resume '
                 f'{ckpt}` after the fix.' if ckpt else 'No checkpoint was saved before this iteration.')
        raise NonFiniteLossError(
            f'Non-finite loss at iteration {runner.iter + 1} (epoch {runner.epoch + 1}, batch {batch_idx + 1}): '
            f'{", ".join(bad)} not finite ({terms}). Training stopped before this iteration was logged or '
            f'checkpointed. {where} {_CAUSES}')
