"""The symmetric image-text contrastive loss (InfoNCE) over the global batch, in BEiT-3's and in VLMo's form.

Both give the same loss value; they differ in how the gathered features carry gradients, which matters on several
ranks (DDP averages the ranks' gradients):

- ``gather_grad=True`` (unilm BEiT-3 ``utils.ClipLoss`` / ``gather_features``, open_clip's ``gather_with_grad``):
  each rank scores its own rows against the gathered columns and the gather passes gradients back to their rank, so
  the rank-averaged gradient is the gradient of the global loss;
- ``gather_grad=False`` (VLMo ``objectives.py`` ``compute_itc`` / ``compute_irtr``): the other ranks' features
  are gathered without gradient, each rank computes the whole [Wb, Wb] loss with gradients through its own features
  only, so the rank-averaged encoder gradient is 1/W of the global-loss gradient (the temperature's stays full).
"""
from typing import Dict

import torch
import torch.distributed as torch_dist
import torch.nn.functional as F
from torch import Tensor

from ..utils import gather_keep_local, gather_with_grad, world_size


def contrastive_loss(img: Tensor, txt: Tensor, scale: Tensor, gather_grad: bool = True) -> Dict[str, Tensor]:
    """Symmetric InfoNCE of L2-normalised image / text features over the batch gathered from every rank.

    Args:
        img: This rank's image features [b, C] (normalised).
        txt: This rank's text features [b, C] (normalised).
        scale: The temperature 1/T (``logit_scale.exp()``), a scalar tensor.
        gather_grad: BEiT-3's gather with gradients (True) or VLMo's without (False); see the module docstring.

    Returns:
        ``loss`` (mean of the two directions), ``i2t`` / ``t2i`` this rank's rows of the similarity matrix
        [b, world * b] (for accuracies and hard negatives) and ``labels`` [b], their positive columns.
    """
    world, b = world_size(), img.shape[0]
    rank = torch_dist.get_rank() if world > 1 else 0
    labels = torch.arange(b, device=img.device) + b * rank
    if gather_grad:
        all_img, all_txt = gather_with_grad(img), gather_with_grad(txt)  # [world * b, C]
        i2t, t2i = scale * img @ all_txt.t(), scale * txt @ all_img.t()  # [b, world * b]
        loss = (F.cross_entropy(i2t.float(), labels) + F.cross_entropy(t2i.float(), labels)) / 2
        return dict(loss=loss, i2t=i2t, t2i=t2i, labels=labels)
    all_img, all_txt = gather_keep_local(img), gather_keep_local(txt)
    logits = scale * all_img @ all_txt.t()  # [world * b, world * b], image rows
    target = torch.arange(logits.shape[0], device=img.device)
    loss = (F.cross_entropy(logits.float(), target) + F.cross_entropy(logits.t().float(), target)) / 2
    rows = slice(b * rank, b * (rank + 1))
    return dict(loss=loss, i2t=logits[rows], t2i=logits.t()[rows], labels=labels)
