"""beitmm's VQ-KD quantizer against a transcription of the official ``NormEMAVectorQuantizer``."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from beitmm.models.tokenizers.quantizer import NormEMAQuantizer


# --- Transcription of microsoft/unilm beit2/norm_ema_quantizer.py --------------------------------------
# ``EmbeddingEMA`` with ``kmeans_init=False`` and ``codebook_init_path=''`` (random l2-normalised codebook,
# ``initted`` = 1, so ``init_embed_`` returns at once) and ``NormEMAVectorQuantizer.forward`` in a single
# process (``all_reduce_fn`` is ``nn.Identity``, which returns its input unchanged).  ``rearrange`` of einops
# is written as ``permute``.  Only what runs with these settings is transcribed.
def _official_l2norm(t: Tensor) -> Tensor:
    return F.normalize(t, p=2, dim=-1)


def _official_ema_inplace(moving_avg: Tensor, new: Tensor, decay: float) -> None:
    moving_avg.data.mul_(decay).add_(new, alpha=(1 - decay))


def _official_norm_ema_inplace(moving_avg: Tensor, new: Tensor, decay: float) -> None:
    moving_avg.data.mul_(decay).add_(new, alpha=(1 - decay))
    moving_avg.data.copy_(_official_l2norm(moving_avg.data))


class _OfficialEmbeddingEMA(nn.Module):
    """``EmbeddingEMA(num_tokens, codebook_dim, decay, eps, kmeans_init=False)`` of the official file."""

    def __init__(self, num_tokens: int, codebook_dim: int, decay: float = 0.99, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_tokens, self.codebook_dim, self.decay, self.eps = num_tokens, codebook_dim, decay, eps
        weight = _official_l2norm(torch.randn(num_tokens, codebook_dim))
        self.register_buffer('initted', torch.Tensor([True]))  # torch.Tensor([not kmeans_init])
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.cluster_size = nn.Parameter(torch.zeros(num_tokens), requires_grad=False)
        self.embed_avg = nn.Parameter(weight.clone(), requires_grad=False)
        self.update = True

    def forward(self, embed_id: Tensor) -> Tensor:
        return F.embedding(embed_id, self.weight)


class _OfficialNormEMAVectorQuantizer(nn.Module):
    """The official ``NormEMAVectorQuantizer``, input and output ``[b, c, h, w]``.

    As built by ``NormEMAVectorQuantizer(n_embed, embedding_dim, beta, decay, statistic_code_usage=True,
    kmeans_init=False)``.
    """

    def __init__(self, n_embed: int, embedding_dim: int, beta: float, decay: float = 0.99) -> None:
        super().__init__()
        self.codebook_dim, self.num_tokens, self.beta, self.decay = embedding_dim, n_embed, beta, decay
        self.embedding = _OfficialEmbeddingEMA(n_embed, embedding_dim, decay)
        self.register_buffer('cluster_size', torch.zeros(n_embed))
        self.all_reduce_fn = nn.Identity()

    def forward(self, z: Tensor):
        z = z.permute(0, 2, 3, 1)  # rearrange(z, 'b c h w -> b h w c')
        z = _official_l2norm(z)
        z_flattened = z.reshape(-1, self.codebook_dim)
        d = z_flattened.pow(2).sum(dim=1, keepdim=True) + self.embedding.weight.pow(2).sum(dim=1) - 2 * \
            torch.einsum('bd,nd->bn', z_flattened, self.embedding.weight)
        encoding_indices = torch.argmin(d, dim=1)
        z_q = self.embedding(encoding_indices).view(z.shape)
        encodings = F.one_hot(encoding_indices, self.num_tokens).type(z.dtype)
        if not self.training:
            with torch.no_grad():
                cluster_size = encodings.sum(0)
                self.all_reduce_fn(cluster_size)
                _official_ema_inplace(self.cluster_size, cluster_size, self.decay)
        if self.training and self.embedding.update:
            bins = encodings.sum(0)
            self.all_reduce_fn(bins)
            _official_ema_inplace(self.cluster_size, bins, self.decay)
            zero_mask = (bins == 0)
            bins = bins.masked_fill(zero_mask, 1.)
            embed_sum = z_flattened.t() @ encodings
            self.all_reduce_fn(embed_sum)
            embed_normalized = (embed_sum / bins.unsqueeze(0)).t()
            embed_normalized = _official_l2norm(embed_normalized)
            embed_normalized = torch.where(zero_mask[..., None], self.embedding.weight, embed_normalized)
            _official_norm_ema_inplace(self.embedding.weight, embed_normalized, self.decay)
        loss = self.beta * F.mse_loss(z_q.detach(), z)
        z_q = z + (z_q - z).detach()
        z_q = z_q.permute(0, 3, 1, 2)  # rearrange(z_q, 'b h w c -> b c h w')
        return z_q, loss, encoding_indices
# -------------------------------------------------------------------------------------------------------


def test_quantizer_matches_official_norm_ema_vector_quantizer_for_50_steps():
    torch.manual_seed(0)
    num_codes, dim = 64, 8
    ours = NormEMAQuantizer(num_codes, dim, decay=0.99, beta=1.0, kmeans_init=False, dead_code_threshold=0.).train()
    official = _OfficialNormEMAVectorQuantizer(num_codes, dim, beta=1.0, decay=0.99).train()
    with torch.no_grad():  # same initial codebook (both random unit vectors; take beitmm's)
        official.embedding.weight.copy_(ours.embedding.weight)
        official.embedding.embed_avg.copy_(ours.embedding.embed_avg)
    assert set(official.state_dict()) == set(ours.state_dict())  # the official layout
    worst = dict(z_q=0., loss=0., codebook=0., cluster_size=0.)
    used = set()
    for step in range(50):
        # clustered inputs (a few directions + noise) so that codes are shared and EMA moves them
        centres = torch.randn(6, dim)
        z = (centres[torch.randint(0, 6, (2 * 4 * 4, ))] + 0.3 * torch.randn(2 * 4 * 4, dim)).view(2, 4, 4, dim)
        z_official = z.permute(0, 3, 1, 2).contiguous().requires_grad_(True)  # [b, c, h, w]
        z_ours = z.clone().requires_grad_(True)  # [b, h, w, c]
        zq_o, loss_o, ids_o = official(z_official)
        zq, loss, ids = ours(z_ours)
        assert torch.equal(ids.flatten(), ids_o), f'step {step}: code ids differ'
        used.update(ids.flatten().tolist())
        worst['z_q'] = max(worst['z_q'], (zq - zq_o.permute(0, 2, 3, 1)).abs().max().item())
        worst['loss'] = max(worst['loss'], (loss - loss_o).abs().item())
        codebook_diff = (ours.embedding.weight - official.embedding.weight).abs().max().item()
        worst['codebook'] = max(worst['codebook'], codebook_diff)
        cluster_diff = (ours.cluster_size - official.cluster_size).abs().max().item()
        worst['cluster_size'] = max(worst['cluster_size'], cluster_diff)
        # straight-through and commitment gradients reach the input identically
        (zq.sum() + loss).backward()
        (zq_o.sum() + loss_o).backward()
        torch.testing.assert_close(z_ours.grad, z_official.grad.permute(0, 2, 3, 1), rtol=0, atol=1e-6)
    # measured: z_q 1.8e-7, loss 7.5e-9, codebook 1.8e-7, cluster_size 0 (same float operations)
    assert max(worst.values()) <= 1e-6, worst
    assert len(used) > 32  # measured 64: every code was assigned and moved by the EMA at some step
    for key, value in official.state_dict().items():  # untouched official buffers match too
        if key in ('embedding.cluster_size', 'embedding.embed_avg', 'embedding.initted'):
            assert torch.equal(ours.state_dict()[key], value), key
