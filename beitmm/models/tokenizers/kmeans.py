"""A k-means visual vocabulary: discrete patch tokens that can be fitted anywhere, in seconds.

BEiT needs a visual tokenizer. The DALL-E dVAE (``beitmm.DALLETokenizer``) is the paper's
choice; where its weights are not available (offline machines, new image domains, tests and
the demo), a vocabulary of k-means centroids of contrast-normalised patches -- the classic
"visual words" -- gives BEiT a discrete target that carries local shape, not colour.
Fit one with ``tools/misc/fit_kmeans_tokenizer.py``.
"""
import math
from typing import Iterable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from beitmm.registry import MODELS


def patch_features(img: Tensor, patch_size: int, pool: int, eps: float = 0.1, normalize: bool = True) -> Tensor:
    """Average-pooled patches, contrast-normalised unless ``normalize=False``.

    Args:
        img: Images [B, 3, H, W] (any fixed scale, e.g. [0, 1]).
        patch_size: Patch side p; H and W must be multiples of it.
        pool: Each patch is average-pooled to ``pool x pool`` pixels.
        eps: Added to the per-patch std, so flat patches are not amplified noise.
        normalize: Subtract each patch's mean and divide by its std; False keeps colour and brightness.

    Returns:
        Features [B, N, 3 * pool * pool] in raster patch order (zero mean per patch if normalised).
    """
    B, C, H, W = img.shape
    if H % patch_size or W % patch_size:
        raise ValueError(f'tokenizer input {H}x{W} is not a multiple of the patch size {patch_size}')
    if patch_size % pool:
        raise ValueError(f'pool {pool} must divide the patch size {patch_size}')
    x = F.avg_pool2d(img.float(), patch_size // pool)  # [B, 3, H/p*pool, W/p*pool]
    h, w = H // patch_size, W // patch_size
    x = x.reshape(B, C, h, pool, w, pool).permute(0, 2, 4, 1, 3, 5).reshape(B, h * w, C * pool * pool)
    if not normalize:
        return x  # [B, N, D]
    x = x - x.mean(-1, keepdim=True)
    return x / (x.std(-1, keepdim=True) + eps)  # [B, N, D]


@MODELS.register_module()
class KMeansTokenizer(nn.Module):
    """Patch tokens = index of the nearest k-means centroid of the patch's normalised pixels.

    Args:
        patch_size: Pixels per token side in the tokenizer view (the student's grid must match).
        vocab_size: Number of centroids V.
        pool: Patches are average-pooled to ``pool x pool`` before clustering.
        eps: Contrast-normalisation epsilon (on the input's scale).
        normalize: Contrast-normalise patches (tokens carry structure only); False keeps their colour,
            like the DALL-E dVAE's tokens, which decode back to coloured pixels.
        checkpoint: File written by ``fit_kmeans_tokenizer.py`` (``state_dict.codebook`` [V, D]).
    """

    def __init__(self, patch_size: int = 16, vocab_size: int = 512, pool: int = 4, eps: float = 0.1,
                 normalize: bool = True, checkpoint: Optional[str] = None) -> None:
        super().__init__()
        self.patch_size, self.vocab_size, self.pool, self.eps = patch_size, vocab_size, pool, eps
        self.normalize = normalize
        self.register_buffer('codebook', torch.zeros(vocab_size, 3 * pool * pool))  # [V, D]
        if checkpoint:
            self.load(checkpoint)

    def load(self, path: str) -> None:
        """Load a fitted codebook (safe ``weights_only`` loading)."""
        from beitmm.checkpoint import load_checkpoint_file
        ckpt = load_checkpoint_file(path, map_location='cpu')
        codebook = ckpt.get('state_dict', ckpt).get('codebook')
        if codebook is None:
            raise KeyError(f"'{path}' has no 'codebook' tensor: fit one with tools/misc/fit_kmeans_tokenizer.py")
        if tuple(codebook.shape) != tuple(self.codebook.shape):
            raise ValueError(f"'{path}' holds a codebook of shape {tuple(codebook.shape)}, the config asks for "
                             f'{tuple(self.codebook.shape)} (vocab_size, 3 * pool * pool)')
        fitted_norm = ckpt.get('meta', {}).get('normalize', True)
        if fitted_norm != self.normalize:
            raise ValueError(f"'{path}' was fitted with normalize={fitted_norm}, the config asks for "
                             f'normalize={self.normalize}')
        self.codebook.copy_(codebook)

    @property
    def fitted(self) -> bool:
        """Whether the codebook holds centroids (an all-zero codebook was never fitted)."""
        return bool(self.codebook.any())

    def features(self, img: Tensor) -> Tensor:
        """[B, 3, H, W] -> [B, N, D] patch features."""
        return patch_features(img, self.patch_size, self.pool, self.eps, self.normalize)

    @torch.no_grad()
    def forward(self, img: Tensor) -> Tensor:
        """Token ids [B, H/p, W/p] (long) of images [B, 3, H, W]."""
        if not self.fitted:
            raise RuntimeError('KMeansTokenizer has no fitted codebook: pass checkpoint= (see '
                               'tools/misc/fit_kmeans_tokenizer.py)')
        feats = self.features(img)  # [B, N, D]
        ids = torch.cdist(feats, self.codebook.float()[None].expand(feats.shape[0], -1, -1)).argmin(-1)  # [B, N]
        return ids.reshape(img.shape[0], img.shape[-2] // self.patch_size, img.shape[-1] // self.patch_size)

    @torch.no_grad()
    def decode(self, ids: Tensor) -> Tensor:
        """Draw token ids [B, h, w] as their centroid patterns: [B, 3, h*p, w*p] in [0, 1].

        Contrast-normalised centroids carry shape, not brightness, so each patch shows its
        centroid around mid-grey; colour centroids are drawn as they are.
        """
        B, h, w = ids.shape
        pool = self.pool
        pats = self.codebook.float()[ids.flatten()].reshape(B, h, w, 3, pool, pool)
        img = pats.permute(0, 3, 1, 4, 2, 5).reshape(B, 3, h * pool, w * pool)
        img = F.interpolate(img, scale_factor=self.patch_size // pool, mode='nearest')
        return ((0.5 + 0.2 * img) if self.normalize else img).clamp(0, 1)

    @torch.no_grad()
    def fit(self, batches: Iterable[Tensor], iters: int = 20, seed: int = 0) -> Tensor:
        """Fit the codebook by k-means++ seeding and Lloyd iterations on all patches of ``batches``.

        Args:
            batches: Image batches [B, 3, H, W] on the tokenizer's input scale.
            iters: Lloyd iterations.
            seed: Seed of the k-means++ draws.

        Returns:
            Cluster sizes [V] after the last assignment (empty clusters are re-seeded each step).
        """
        x = torch.cat([self.features(b).flatten(0, 1) for b in batches])  # [P, D]
        if x.shape[0] < self.vocab_size:
            raise ValueError(f'{x.shape[0]} patches cannot fit {self.vocab_size} centroids: give more images')
        g = torch.Generator().manual_seed(seed)
        centroids = x[torch.randint(len(x), (1, ), generator=g)]
        d2 = torch.cdist(x, centroids).squeeze(1) ** 2  # [P]
        for _ in range(1, self.vocab_size):  # k-means++: draw proportional to squared distance
            nxt = x[torch.multinomial(d2 + 1e-12, 1, generator=g)]
            centroids = torch.cat([centroids, nxt])
            d2 = torch.minimum(d2, ((x - nxt) ** 2).sum(-1))
        for _ in range(iters):
            assign = torch.cdist(x, centroids).argmin(-1)  # [P]
            counts = torch.bincount(assign, minlength=self.vocab_size).float()  # [V]
            sums = torch.zeros_like(centroids).index_add_(0, assign, x)
            empty = counts == 0
            centroids = torch.where(empty[:, None], centroids, sums / counts.clamp(min=1)[:, None])
            if empty.any():  # re-seed empty clusters on the worst-fitted patches
                far = torch.cdist(x, centroids).min(-1).values.topk(int(empty.sum())).indices
                centroids[empty] = x[far]
        self.codebook.copy_(centroids)
        return torch.bincount(torch.cdist(x, centroids).argmin(-1), minlength=self.vocab_size)

    def usage(self, counts: Tensor) -> dict:
        """Codes used and perplexity of a histogram of token counts [V]."""
        p = counts.float() / counts.sum()
        ent = -(p[p > 0] * p[p > 0].log()).sum()
        return dict(used=int((counts > 0).sum()), perplexity=float(math.exp(float(ent))))
