"""A cosine schedule that ends at unilm's ``min_lr``, whatever the optimizer's lr."""
from typing import Optional, Union

from mmengine.optim import BaseOptimWrapper
from mmengine.optim import CosineAnnealingLR as MMEngineCosineAnnealingLR
from torch.optim import Optimizer

from beitmm.registry import PARAM_SCHEDULERS


def base_lr(optimizer: Union[Optimizer, BaseOptimWrapper]) -> float:
    """The lr the optimizer was built with (its ``defaults``), before layer decay and schedulers.

    Args:
        optimizer: A torch optimizer or an mmengine optim wrapper.

    Returns:
        ``optimizer.defaults['lr']``.
    """
    return getattr(optimizer, 'optimizer', optimizer).defaults['lr']


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingLR(MMEngineCosineAnnealingLR):
    """mmengine's ``CosineAnnealingLR`` that also takes unilm's ``min_lr``.

    unilm's fine-tuning scripts (``run_class_finetuning.py``, ``run_beit3_finetuning.py``) anneal a scalar lr from
    ``lr`` to ``min_lr`` and give each parameter group ``lr(t) * lr_scale`` (layer decay), so a group's floor is
    ``min_lr * lr_scale``. mmengine anneals each group from its own initial lr (``lr * lr_scale``) to ``eta_min``
    (the same floor for every group, flattening layer decay at the end) or to ``eta_min_ratio`` times its initial
    lr. ``min_lr`` sets ``eta_min_ratio = min_lr / lr`` from the optimizer's lr when the scheduler is built, so a
    config that changes only ``optimizer.lr`` (or ``auto_scale_lr``) keeps unilm's floors.

    Args:
        optimizer: The optimizer or optim wrapper.
        *args: mmengine ``CosineAnnealingLR``'s positional arguments.
        min_lr: unilm's ``min_lr`` (the floor of the group with ``lr_scale`` 1); give it or ``eta_min`` or
            ``eta_min_ratio``, not two of them.
        **kwargs: mmengine ``CosineAnnealingLR``'s keyword arguments (``begin``, ``end``, ``by_epoch``, ...).
    """

    def __init__(self, optimizer: Union[Optimizer, BaseOptimWrapper], *args, min_lr: Optional[float] = None,
                 **kwargs) -> None:
        if min_lr is not None:
            given = [k for k in ('eta_min', 'eta_min_ratio') if kwargs.get(k) is not None]
            if given or len(args) > 1:
                raise ValueError(f'CosineAnnealingLR: give min_lr or {given or "eta_min"}, not both')
            kwargs['eta_min_ratio'] = min_lr / base_lr(optimizer)
        super().__init__(optimizer, *args, **kwargs)
