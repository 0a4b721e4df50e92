"""Vector quantizer of VQ-KD (BEiT v2): l2-normalised codebook updated by EMA, k-means init, dead-code restarts.

Reference: microsoft/unilm ``beit2/norm_ema_quantizer.py`` (``NormEMAVectorQuantizer``). The state-dict
layout is the official one (``embedding.weight``, ``embedding.cluster_size``, ``embedding.embed_avg``,
``embedding.initted``, ``cluster_size``), so official VQ-KD checkpoints load by copy. The official
quantizer already all-reduces its EMA statistics across ranks; added here: the k-means initialisation
all-reduced too (every rank starts from the same codebook), restarts of dead codes, and per-epoch
usage / perplexity statistics.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


def l2norm(x: Tensor) -> Tensor:
    """Unit-length rows: ``x / ||x||`` along the last dimension."""
    return F.normalize(x, p=2, dim=-1)


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_sum(t: Tensor) -> Tensor:
    """Sum ``t`` over ranks in place (no-op in a single process); returns ``t``."""
    if _distributed():
        dist.all_reduce(t)
    return t


def broadcast_from_rank0(t: Tensor) -> Tensor:
    """Copy rank 0's ``t`` to every rank in place (no-op in a single process); returns ``t``."""
    if _distributed():
        dist.broadcast(t, src=0)
    return t


def sample_rows(samples: Tensor, num: int) -> Tensor:
    """``num`` rows of ``samples`` [M, D], without replacement when M >= num."""
    m = samples.shape[0]
    idx = torch.randperm(m, device=samples.device)[:num] if m >= num else \
        torch.randint(0, m, (num, ), device=samples.device)
    return samples[idx]


@torch.no_grad()
def kmeans_cosine(samples: Tensor, num_clusters: int, num_iters: int = 10) -> Tuple[Tensor, Tensor]:
    """Spherical k-means over the samples of all ranks (Lloyd iterations on cosine similarity).

    Initial centres are drawn on rank 0 and broadcast; each iteration all-reduces the per-cluster
    counts and sums, so every rank ends with the k-means of the union of all ranks' samples.

    Args:
        samples: l2-normalised vectors [M, D] of this rank.
        num_clusters: K.
        num_iters: Lloyd iterations.

    Returns:
        Unit-length centres [K, D] (an empty cluster keeps its previous centre) and the cluster
        sizes [K] of the last assignment, summed over ranks.
    """
    samples = samples.float()
    means = broadcast_from_rank0(sample_rows(samples, num_clusters).contiguous())  # [K, D]
    bins = samples.new_zeros(num_clusters)
    for _ in range(num_iters):
        buckets = (samples @ means.t()).argmax(dim=-1)  # [M] nearest centre by cosine
        bins = all_reduce_sum(torch.bincount(buckets, minlength=num_clusters).float())  # [K]
        sums = all_reduce_sum(samples.new_zeros(num_clusters, samples.shape[1]).index_add_(0, buckets, samples))
        new_means = l2norm(sums / bins.clamp(min=1).unsqueeze(1))  # [K, D]
        means = torch.where((bins == 0).unsqueeze(1), means, new_means)
    return means, bins


class EmbeddingEMA(nn.Module):
    """The codebook: ``weight`` [K, D] unit-length codes (official layout, buffers only).

    ``cluster_size`` holds the k-means cluster sizes and ``embed_avg`` the initial codebook,
    as in the official file (kept for checkpoint compatibility; updates use the quantizer's
    statistics). ``initted`` is 1 once the codebook has been initialised.

    Args:
        num_codes: K.
        code_dim: D.
        kmeans_init: Start from zeros and initialise by k-means on the first training batch;
            otherwise start from random unit vectors.
    """

    def __init__(self, num_codes: int, code_dim: int, kmeans_init: bool = True) -> None:
        super().__init__()
        weight = torch.zeros(num_codes, code_dim) if kmeans_init else l2norm(torch.randn(num_codes, code_dim))
        self.register_buffer('weight', weight)
        self.register_buffer('cluster_size', torch.zeros(num_codes))
        self.register_buffer('embed_avg', weight.clone())
        self.register_buffer('initted', torch.tensor([float(not kmeans_init)]))

    def forward(self, ids: Tensor) -> Tensor:
        """Codes of ``ids`` [...] -> [..., D]."""
        return F.embedding(ids, self.weight)


class NormEMAQuantizer(nn.Module):
    """Nearest-code quantization on the unit sphere with EMA codebook updates.

    Args:
        num_codes: Codebook size K (8192 in BEiT v2).
        code_dim: Code dimension D (32).
        decay: EMA decay of the codes and of ``cluster_size`` (0.99).
        beta: Weight of the commitment loss ``||sg(q) - z||^2`` (1.0).
        kmeans_init: Initialise the codebook by k-means on the first training batch.
        kmeans_iters: Lloyd iterations of the initialisation.
        dead_code_threshold: A code is dead when its EMA assignment count falls below this
            fraction of the mean count; dead codes are moved onto random encoder outputs of the
            current batch (drawn on rank 0 and broadcast). 0 disables restarts.
    """

    def __init__(self, num_codes: int = 8192, code_dim: int = 32, decay: float = 0.99, beta: float = 1.0,
                 kmeans_init: bool = True, kmeans_iters: int = 10, dead_code_threshold: float = 0.03) -> None:
        super().__init__()
        if not 0 < decay < 1:
            raise ValueError(f'EMA decay must be in (0, 1), got {decay}')
        self.num_codes, self.code_dim = num_codes, code_dim
        self.decay, self.beta = decay, beta
        self.kmeans_iters = kmeans_iters
        self.dead_code_threshold = dead_code_threshold
        self.embedding = EmbeddingEMA(num_codes, code_dim, kmeans_init)
        self.register_buffer('cluster_size', torch.zeros(num_codes))  # EMA of assignments per step
        # Statistics since the last reset_stats() (per epoch); local counts, reduced on demand.
        self.register_buffer('counts', torch.zeros(num_codes, dtype=torch.float64), persistent=False)
        self.register_buffer('restarts', torch.zeros((), dtype=torch.long), persistent=False)

    # ------------------------------------------------------------------ maths
    @torch.no_grad()
    def init_codebook(self, flat: Tensor) -> None:
        """k-means (all ranks' samples) initialisation of the codebook from l2-normalised ``flat`` [M, D]."""
        means, bins = kmeans_cosine(flat, self.num_codes, self.kmeans_iters)
        self.embedding.weight.copy_(means)
        self.embedding.embed_avg.copy_(means)
        self.embedding.cluster_size.copy_(bins)
        self.cluster_size.copy_(bins)  # empty clusters start dead and are restarted at once
        self.embedding.initted.fill_(1.)

    @torch.no_grad()
    def ema_update(self, flat: Tensor, ids: Tensor) -> None:
        """One EMA step of the codebook from the assignments of all ranks.

        Args:
            flat: l2-normalised encoder outputs [M, D].
            ids: Their codes [M].
        """
        bins = all_reduce_sum(torch.bincount(ids, minlength=self.num_codes).float())  # [K]
        self.cluster_size.mul_(self.decay).add_(bins, alpha=1 - self.decay)
        sums = all_reduce_sum(flat.new_zeros(self.num_codes, self.code_dim).index_add_(0, ids, flat))  # [K, D]
        means = l2norm(sums / bins.clamp(min=1).unsqueeze(1))
        weight = self.embedding.weight
        means = torch.where((bins == 0).unsqueeze(1), weight, means)  # unused codes do not move
        weight.copy_(l2norm(weight * self.decay + means * (1 - self.decay)))

    @torch.no_grad()
    def restart_dead_codes(self, flat: Tensor) -> int:
        """Move dead codes onto random encoder outputs; returns how many were restarted.

        Args:
            flat: l2-normalised encoder outputs [M, D] of this rank (rank 0's are used).
        """
        if self.dead_code_threshold <= 0:
            return 0
        dead = self.cluster_size < self.dead_code_threshold * self.cluster_size.mean()  # same on all ranks
        n = int(dead.sum())
        if n == 0:
            return 0
        new = sample_rows(flat, n)
        if flat.shape[0] < n:  # duplicates: jitter so they do not stay identical
            new = new + 0.01 * torch.randn_like(new)
        new = broadcast_from_rank0(l2norm(new).contiguous())
        self.embedding.weight[dead] = new
        self.cluster_size[dead] = self.cluster_size.mean()  # grace period before the next check
        self.restarts += n
        return n

    def forward(self, z: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Quantize encoder outputs.

        Args:
            z: Encoder outputs [..., D] (e.g. [B, N, D]).

        Returns:
            ``z_q`` [..., D] (unit-length codes, straight-through gradient to ``z``), the
            commitment loss (scalar) and the code ids [...] (long).
        """
        if z.shape[-1] != self.code_dim:
            raise ValueError(f'quantizer expects {self.code_dim}-d vectors, got {tuple(z.shape)}')
        with torch.autocast(device_type=z.device.type, enabled=False):
            z = l2norm(z.float())
            flat = z.reshape(-1, self.code_dim)  # [M, D]
            if self.training and not bool(self.embedding.initted):
                self.init_codebook(flat.detach())
            ids = (flat.detach() @ self.embedding.weight.t()).argmax(dim=-1)  # [M] highest cosine
            self.counts += torch.bincount(ids, minlength=self.num_codes).to(self.counts.dtype)
            z_q = self.embedding(ids).view_as(z)  # codes before this step's update
            if self.training:
                self.ema_update(flat.detach(), ids)
                self.restart_dead_codes(flat.detach())
            loss = self.beta * F.mse_loss(z_q.detach(), z)
            z_q = z + (z_q - z).detach()
        return z_q, loss, ids.view(z.shape[:-1])

    # ------------------------------------------------------------- statistics
    def reset_stats(self) -> None:
        """Zero the usage counts and the restart counter (start of an epoch)."""
        self.counts.zero_()
        self.restarts.zero_()

    @torch.no_grad()
    def codebook_stats(self, reduce: bool = True) -> Dict[str, float]:
        """Usage of the codebook since the last :meth:`reset_stats`.

        Args:
            reduce: Sum the counts over ranks (every rank must call it then).

        Returns:
            ``used`` (codes assigned at least once), ``num_codes``, ``usage`` (used / K),
            ``perplexity`` (exp of the entropy of the code frequencies; K when uniform),
            ``restarts`` (dead codes restarted) and ``assignments`` (vectors counted).
        """
        counts = self.counts.clone()
        restarts = self.restarts.clone().to(counts.dtype)
        if reduce:
            all_reduce_sum(counts)
        total = float(counts.sum())
        used = int((counts > 0).sum())
        p = counts[counts > 0] / max(total, 1.)
        perplexity = float(torch.exp(-(p * p.log()).sum())) if total > 0 else 0.
        return dict(used=used, num_codes=self.num_codes, usage=used / self.num_codes, perplexity=perplexity,
                    restarts=int(restarts), assignments=int(total))

    def extra_repr(self) -> str:
        """Codebook size, code dimension, EMA decay, commitment weight and restart threshold."""
        return (f'num_codes={self.num_codes}, code_dim={self.code_dim}, decay={self.decay}, beta={self.beta}, '
                f'dead_code_threshold={self.dead_code_threshold}')


def find_quantizers(model: nn.Module) -> Dict[str, NormEMAQuantizer]:
    """``{name: quantizer}`` of every :class:`NormEMAQuantizer` inside ``model`` (wrappers unwrapped)."""
    module: Optional[nn.Module] = getattr(model, 'module', model)
    return {name: m for name, m in module.named_modules() if isinstance(m, NormEMAQuantizer)}
