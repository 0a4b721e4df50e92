"""Gathers across ranks for the contrastive and matching losses and the retrieval evaluation (no-ops alone)."""
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine import dist
from torch import Tensor


class _GatherWithGrad(torch.autograd.Function):
    """All-gather whose backward sums every rank's gradient of the gathered copy and returns this rank's slice."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:  # noqa: D102
        parts = [torch.empty_like(x) for _ in range(torch_dist.get_world_size())]
        torch_dist.all_gather(parts, x.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # noqa: D102
        grad = grad.contiguous()
        torch_dist.all_reduce(grad)
        return grad.chunk(torch_dist.get_world_size(), dim=0)[torch_dist.get_rank()]


def world_size() -> int:
    """Ranks of the initialised default process group (1 without one)."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        return torch_dist.get_world_size()
    return 1


def gather_with_grad(x: Tensor) -> Tensor:
    """All-gather [b, C] from every rank into [world * b, C], gradients flowing back to each rank's part.

    Every rank must pass the same b (the training loaders drop the last incomplete batch or pad the sampler).
    """
    return x if world_size() == 1 else _GatherWithGrad.apply(x)


def gather_keep_local(x: Tensor) -> Tensor:
    """All-gather [b, C] into [world * b, C] in rank order, without gradient except through this rank's rows.

    Every rank must pass the same b. VLMo puts the local rows first; the loss is the same in rank order.
    """
    world = world_size()
    if world == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(world)]
    torch_dist.all_gather(parts, x.detach().contiguous())
    parts[torch_dist.get_rank()] = x  # the only rows with a gradient
    return torch.cat(parts, dim=0)


def all_gather_concat(x: Tensor) -> Tensor:
    """All-gather tensors whose first dimension differs between ranks (no gradient), in rank order."""
    if dist.get_world_size() == 1:
        return x
    sizes = [int(s) for s in dist.all_gather(torch.tensor([x.shape[0]], device=x.device))]
    padded = x.new_zeros((max(sizes), ) + x.shape[1:])
    padded[:x.shape[0]] = x
    return torch.cat([t[:n] for t, n in zip(dist.all_gather(padded), sizes, strict=True)])


def gather_by_id(x: Tensor, ids: Tensor, num: Optional[int] = None) -> Tensor:
    """Rows of every rank placed at their global index: [num, ...] with row ``ids[i]`` = ``x[i]`` of its rank.

    Distributed samplers deal items to ranks interleaved and pad the last round with repeats, so concatenating
    the ranks' rows would misalign them with the dataset's ids (repeats write the same row twice).

    Args:
        x: This rank's rows [n, ...].
        ids: Their dataset indices [n].
        num: Rows of the dataset (default: largest id + 1).

    Returns:
        [num, ...] in dataset order.
    """
    all_x, all_ids = all_gather_concat(x), all_gather_concat(ids)
    num = int(all_ids.max()) + 1 if num is None else num
    if all_ids.numel() and (int(all_ids.min()) < 0 or int(all_ids.max()) >= num):
        raise ValueError(f'item ids outside [0, {num}): {all_ids.min().item()}..{all_ids.max().item()}')
    out = all_x.new_zeros((num, ) + tuple(all_x.shape[1:]))
    seen = torch.zeros(num, dtype=torch.bool, device=all_ids.device)
    out[all_ids] = all_x
    seen[all_ids] = True
    if not bool(seen.all()):
        missing = (~seen).nonzero().flatten()[:5].tolist()
        raise ValueError(f'no rank encoded the items {missing}... of {num}: the evaluation loader skipped some')
    return out
