"""The masked-language-modeling loss at the labelled positions (BEiT-3 / VL-BEiT masked data modeling, VLMo MLM)."""
from typing import Tuple

import torch.nn.functional as F
from torch import Tensor


def mlm_loss(head, tokens: Tensor, labels: Tensor, where: str) -> Tuple[Tensor, Tensor]:
    """Cross-entropy and accuracy (percent) of the MLM head at the positions with a label (-100 elsewhere).

    Args:
        head: Maps hidden [M, C] to logits [M, V].
        tokens: Text hidden states [B, L, C].
        labels: Original ids at the masked positions, -100 elsewhere [B, L].
        where: Stream name for the error message.

    Returns:
        The mean cross-entropy and the accuracy in percent (detached).
    """
    chosen = labels != -100  # [B, L]
    if not bool(chosen.any()):
        raise ValueError(f'the {where} stream has no masked text token (mlm_labels all -100): raise the mask ratio')
    logits = head(tokens[chosen])  # [M, V]
    target = labels[chosen]
    loss = F.cross_entropy(logits.float(), target)
    return loss, (logits.detach().argmax(-1) == target).float().mean() * 100
