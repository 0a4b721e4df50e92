"""Low-memory training of mmseg decode heads: checkpointed maps, and cross-entropy of upsampled logits.

"Upsample the logits, then cross-entropy" is computed here without ever holding the upsampled logits.

mmseg's ``BaseDecodeHead.loss_by_feat`` resizes the 1/4-scale logits to the label size and runs
``F.cross_entropy`` on them. For ADE20K (150 classes, 512 px, batch 2) the resized logits, their
log-softmax kept for backward and the gradient are ~300 MB each, per head (decode and auxiliary):
with activation checkpointing in the backbone they are most of the step's peak memory.

:class:`UpsampledCrossEntropy` computes the same loss and ``acc_seg`` in bands of output rows.
Bilinear resizing is written as two interpolation matrices (``up = Ry @ x @ Rx^T``, identical
weights to ``F.interpolate``), so a band of rows is ``Ry[r0:r1] @ x @ Rx^T``; the backward pass
recomputes each band and accumulates the adjoint ``Ry[r0:r1]^T @ g @ Rx``. Nothing of output
size outlives one band.
"""
from typing import List, Tuple

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from .label_check import SegLabelRangeError, out_of_range_labels


def interp_matrix(n_in: int, n_out: int, align_corners: bool, device=None) -> Tensor:
    """Weights of 1-D linear interpolation as ``F.interpolate(size=n_out)`` computes them.

    Args:
        n_in: Input length.
        n_out: Output length.
        align_corners: As in ``F.interpolate``.
        device: Device of the result.

    Returns:
        R [n_out, n_in] (float32) with ``interpolate(x) == R @ x`` along that axis.
    """
    dst = torch.arange(n_out, dtype=torch.float64, device=device)
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.)
    else:
        src = ((dst + 0.5) * (n_in / n_out) - 0.5).clamp(min=0)
    i0 = src.floor().long().clamp(max=n_in - 1)  # [n_out]
    i1 = (i0 + 1).clamp(max=n_in - 1)
    lam = src - i0
    r = torch.zeros(n_out, n_in, dtype=torch.float64, device=device)
    r.index_put_((torch.arange(n_out, device=device), i0), 1 - lam, accumulate=True)
    r.index_put_((torch.arange(n_out, device=device), i1), lam, accumulate=True)
    return r.float()


class UpsampledCrossEntropy(torch.autograd.Function):
    """``sum CE(resize(logits), label)`` and the number of correct pixels, in row bands.

    ``apply(logits [B, K, h, w], label [B, H, W] long, ignore_index, align_corners, band_elems)``
    returns ``(loss_sum, num_correct)``: 0-dim float32 tensors; only ``loss_sum`` has a gradient.
    """

    @staticmethod
    def _band(x: Tensor, ry: Tensor, rx: Tensor) -> Tensor:
        return torch.matmul(torch.matmul(ry, x), rx.t())  # [B, K, rows, W]

    @staticmethod
    def _bands(H: int, B: int, K: int, W: int, band_elems: int):
        rows = max(1, band_elems // max(1, B * K * W))
        return [(r, min(H, r + rows)) for r in range(0, H, rows)]

    @staticmethod
    def forward(ctx, logits: Tensor, label: Tensor, ignore_index: int, align_corners: bool,
                band_elems: int) -> Tuple[Tensor, Tensor]:
        """Sum the cross-entropy and count the correct pixels of the upsampled logits, band by band.

        Args:
            ctx: Autograd context; keeps the inputs for :meth:`backward`.
            logits: Low-resolution logits [B, K, h, w].
            label: Labels [B, H, W] (long) at the output size.
            ignore_index: Label excluded from loss and accuracy.
            align_corners: As in ``F.interpolate``.
            band_elems: Upper bound on the elements of one band of upsampled logits.

        Returns:
            ``(loss_sum, num_correct)``: 0-dim float32 tensors.

        Raises:
            SegLabelRangeError: If a label is neither ``ignore_index`` nor in ``[0, K)``.
        """
        B, K, h, w = logits.shape
        H, W = label.shape[-2:]
        with torch.autocast(logits.device.type, enabled=False):
            x = logits.float()
            ry = interp_matrix(h, H, align_corners, x.device)  # [H, h]
            rx = interp_matrix(w, W, align_corners, x.device)  # [W, w]
            bad = out_of_range_labels(label, K, ignore_index)  # one check (one device sync) per step
            if bad.numel():
                raise SegLabelRangeError(f'segmentation labels {bad.tolist()[:10]} are outside '
                                         f'[0, {K - 1}] for a head with {K} classes (ignore_index={ignore_index})')
            loss = x.new_zeros(())
            correct = x.new_zeros(())
            for r0, r1 in UpsampledCrossEntropy._bands(H, B, K, W, band_elems):
                up = UpsampledCrossEntropy._band(x, ry[r0:r1], rx)  # [B, K, rows, W]
                lbl = label[:, r0:r1]  # [B, rows, W]
                valid = lbl != ignore_index
                tgt = lbl.where(valid, 0)
                nll = up.logsumexp(1) - up.gather(1, tgt[:, None]).squeeze(1)  # [B, rows, W]
                loss += (nll * valid).sum()
                correct += ((up.argmax(1) == lbl) & valid).sum()
        ctx.save_for_backward(logits, label)
        ctx.args = (ignore_index, align_corners, band_elems)
        ctx.mark_non_differentiable(correct)
        return loss, correct

    @staticmethod
    def backward(ctx, grad_loss: Tensor, _grad_correct: Tensor) -> Tuple[Tensor, None, None, None, None]:
        """Gradient of ``loss_sum`` w.r.t. the logits, recomputing each band of upsampled logits.

        Args:
            ctx: Autograd context from :meth:`forward`.
            grad_loss: Gradient of ``loss_sum`` (0-dim).
            _grad_correct: Gradient of ``num_correct`` (not differentiable; ignored).

        Returns:
            The gradient of the logits [B, K, h, w] and None for the other inputs.
        """
        logits, label = ctx.saved_tensors
        ignore_index, align_corners, band_elems = ctx.args
        B, K, h, w = logits.shape
        H, W = label.shape[-2:]
        with torch.autocast(logits.device.type, enabled=False):
            x = logits.float()
            ry = interp_matrix(h, H, align_corners, x.device)
            rx = interp_matrix(w, W, align_corners, x.device)
            grad = torch.zeros_like(x)  # [B, K, h, w]
            for r0, r1 in UpsampledCrossEntropy._bands(H, B, K, W, band_elems):
                up = UpsampledCrossEntropy._band(x, ry[r0:r1], rx)
                lbl = label[:, r0:r1]
                valid = (lbl != ignore_index)[:, None]  # [B, 1, rows, W]
                g = up.softmax(1).scatter_add_(1, lbl.where(valid[:, 0], 0)[:, None], -torch.ones_like(up[:, :1]))
                g = g * (valid * grad_loss.float())  # d loss_sum / d up
                grad += torch.matmul(torch.matmul(ry[r0:r1].t(), g), rx)  # adjoint of the band's resize
        return grad.to(logits.dtype), None, None, None, None


def upsampled_cross_entropy(logits: Tensor, label: Tensor, ignore_index: int = 255, align_corners: bool = False,
                            avg_non_ignore: bool = False, band_elems: int = 1 << 22) -> Tuple[Tensor, Tensor]:
    """Mmseg's resize + ``CrossEntropyLoss`` (no class weights, 'mean') and ``accuracy``, in bands.

    Args:
        logits: Low-resolution logits [B, K, h, w].
        label: Labels [B, H, W] (or [B, 1, H, W]) at the output size.
        ignore_index: Label excluded from loss and accuracy.
        align_corners: As in the head's ``resize``.
        avg_non_ignore: Divide by the non-ignored pixels (else by all pixels, mmseg's default).
        band_elems: Upper bound on the elements of one band of upsampled logits.

    Returns:
        (loss, acc_seg): the mean loss (0-dim) and mmseg's accuracy in percent ([1]).
    """
    if label.dim() == 4:
        label = label.squeeze(1)
    loss_sum, correct = UpsampledCrossEntropy.apply(logits, label.long(), ignore_index, align_corners, band_elems)
    eps = torch.finfo(torch.float32).eps
    num_valid = (label != ignore_index).sum().float()
    # mmseg: mean over all pixels, or sum / (non-ignored + eps) with avg_non_ignore
    loss = loss_sum / (num_valid + eps) if avg_non_ignore else loss_sum / label.numel()
    acc = (correct.reshape(1) + eps) * (100.0 / (num_valid + eps))
    return loss, acc


class LowMemoryHeadMixin:
    """``with_cp`` for an mmseg decode head (put it before the head class in the bases).

    With ``with_cp=True``, while training: the head's feature path (``_forward_feature``) is
    recomputed in the backward pass, so only its inputs and output are kept (as with any
    checkpointed BatchNorm, running statistics are updated twice per step); and the loss runs
    through :func:`upsampled_cross_entropy` when it is a single mmseg ``CrossEntropyLoss``
    (softmax, no class weights, 'mean') without a pixel sampler, else mmseg's own
    ``loss_by_feat`` runs. Losses, ``acc_seg`` and gradients equal mmseg's up to float rounding.
    With ``with_cp=False`` the head is exactly the mmseg head.
    """

    def __init__(self, *args, with_cp: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.with_cp = with_cp

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Logits [B, num_classes, h, w] (mmseg's ``cls_seg(_forward_feature(inputs))``)."""
        if self.with_cp and self.training and any(x.requires_grad for x in inputs):
            feats = checkpoint(self._forward_feature, list(inputs), use_reentrant=False)
        else:
            feats = self._forward_feature(inputs)
        return self.cls_seg(feats)

    def _low_memory_loss_ok(self) -> bool:
        from mmseg.models.losses import CrossEntropyLoss
        losses = list(self.loss_decode) if isinstance(self.loss_decode, torch.nn.ModuleList) else [self.loss_decode]
        crit = losses[0]
        return (self.with_cp and self.sampler is None and len(losses) == 1
                and type(crit) is CrossEntropyLoss and not crit.use_sigmoid and not crit.use_mask
                and crit.class_weight is None and crit.reduction == 'mean')

    def loss_by_feat(self, seg_logits: Tensor, batch_data_samples: list) -> dict:
        """Mmseg's ``loss_by_feat`` (same keys and values), without the full-size logits when possible."""
        if not self._low_memory_loss_ok():
            return super().loss_by_feat(seg_logits, batch_data_samples)
        crit = self.loss_decode[0] if isinstance(self.loss_decode, torch.nn.ModuleList) else self.loss_decode
        seg_label = self._stack_batch_gt(batch_data_samples)  # [B, 1, H, W]
        loss, acc = upsampled_cross_entropy(seg_logits, seg_label, self.ignore_index, self.align_corners,
                                            crit.avg_non_ignore)
        return {crit.loss_name: crit.loss_weight * loss, 'acc_seg': acc}
