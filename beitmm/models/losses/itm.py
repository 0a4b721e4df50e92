"""Image-text matching with hard negatives drawn from the contrastive similarities (VLMo ``compute_itm_hardneg``)."""
from typing import Callable, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils import all_gather_concat


@torch.no_grad()
def sample_hard_negatives(logits: Tensor, positives: Tensor, generator: torch.Generator = None) -> Tensor:
    """One negative candidate per query, drawn with probability softmax(similarity), never the positive.

    Args:
        logits: Similarities [b, M] of the local queries to all M candidates (gathered over ranks).
        positives: Column of each query's positive [b].
        generator: Optional random generator (default: torch's global one, saved by the runner's RNG state).

    Returns:
        Candidate indices [b].
    """
    weights = logits.float().softmax(dim=1)
    weights[torch.arange(logits.shape[0], device=logits.device), positives] = 0
    empty = weights.sum(dim=1) <= 0  # a single candidate: nothing to draw from
    if bool(empty.any()):
        raise ValueError('ITM hard negatives need at least 2 image-text pairs in the (global) batch')
    return torch.multinomial(weights, 1, generator=generator).squeeze(1)


def hard_negative_itm_loss(itm_logits: Callable[[Tensor, Tensor, Tensor], Tensor], images: Tensor, ids: Tensor,
                           padding: Tensor, logits_i2t: Tensor, logits_t2i: Tensor, positives: Tensor,
                           return_logits: bool = False) -> Union[Tensor, Tuple[Tensor, Tensor, Tensor]]:
    """Cross-entropy of the fusion encoder on positives and one hard negative text and image per pair.

    Candidates are gathered from every rank (no gradient through the gathered inputs), as VLMo does.

    Args:
        itm_logits: ``(images, ids, padding) -> [n, 2]`` logits of the fusion encoder's ITM head.
        images: Local images [b, 3, H, W].
        ids: Local caption ids [b, L].
        padding: Local caption padding [b, L].
        logits_i2t: Local image -> all texts similarities [b, M].
        logits_t2i: Local text -> all images similarities [b, M].
        positives: Global column of each local pair [b].
        return_logits: Also return the logits [3b, 2] and labels [3b] (for the ITM accuracy).

    Returns:
        The mean ITM cross-entropy over 3b pairs (labels 1, 0, 0) (with ``return_logits``: loss, logits, labels).
    """
    all_images, all_ids, all_pad = (all_gather_concat(t) for t in (images, ids, padding))
    neg_text = sample_hard_negatives(logits_i2t, positives)  # [b]
    neg_image = sample_hard_negatives(logits_t2i, positives)
    pair_images = torch.cat([images, images, all_images[neg_image]])
    pair_ids = torch.cat([ids, all_ids[neg_text], ids])
    pair_pad = torch.cat([padding, all_pad[neg_text], padding])
    logits = itm_logits(pair_images, pair_ids, pair_pad)  # [3b, 2]
    b = images.shape[0]
    labels = torch.cat([torch.ones(b), torch.zeros(2 * b)]).long().to(logits.device)
    loss = F.cross_entropy(logits.float(), labels)
    return (loss, logits, labels) if return_logits else loss
