"""Replaced-token detection (ELECTRA): the per-token binary loss and its logged parts.

:func:`rtd_loss` is shared by text ELECTRA (its head: ``beitmm.RTDHead``) and CIM's RevDet enhancer head. "Replaced"
is True only where the sample differs from the original (a correct resample is labelled original, ELECTRA's
convention); the loss is the mean binary cross-entropy over the valid tokens, optionally weighted per token (the
importance weights of hardness-aware sampling at the masked positions, 1 elsewhere).
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def masked_mean(values: Tensor, where: Tensor) -> Tensor:
    """Mean of ``values`` over the True entries of ``where`` (0 when there is none), no gradient."""
    where = where.bool()
    return (values.detach().float() * where).sum() / where.sum().clamp_min(1)


def rtd_loss(logits: Tensor, replaced: Tensor, valid: Optional[Tensor] = None,
             weights: Optional[Tensor] = None) -> Dict[str, Tensor]:
    """Binary cross-entropy of replaced-token detection.

    Args:
        logits: Replacement logits, any shape [...] (e.g. [B, L] text, [B, h, w] visual tokens).
        replaced: Bool labels, same shape: True where the sample differs from the original.
        valid: Bool, same shape: tokens that count (e.g. not padding); None: all.
        weights: Per-token loss weights, same shape; None: 1.

    Returns:
        ``loss`` (weighted mean BCE over valid tokens), ``per_token`` (unweighted BCE, detached, same shape),
        ``acc`` (share of valid tokens classified right), ``acc_replaced`` (of the replaced ones),
        ``disc_replaced`` / ``disc_kept`` (mean BCE on replaced / on kept valid tokens).
    """
    if logits.shape != replaced.shape:
        raise ValueError(f'RTD logits {tuple(logits.shape)} and labels {tuple(replaced.shape)} differ in shape')
    replaced = replaced.bool()
    valid = torch.ones_like(replaced) if valid is None else valid.bool()
    bce = F.binary_cross_entropy_with_logits(logits.float(), replaced.float(), reduction='none')
    w = valid.float() if weights is None else valid.float() * weights.float()
    loss = (bce * w).sum() / valid.sum().clamp_min(1)
    right = (logits.detach() > 0) == replaced
    return dict(loss=loss, per_token=bce.detach(), acc=masked_mean(right, valid),
                acc_replaced=masked_mean(right, valid & replaced), disc_replaced=masked_mean(bce, valid & replaced),
                disc_kept=masked_mean(bce, valid & ~replaced))
