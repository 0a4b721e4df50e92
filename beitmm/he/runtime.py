"""Encrypted inference of a converted classifier: client and server in one process, talking through bytes."""
import time
import warnings
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn

from .plan import ModelPlan, image_patches, plan_image_classifier
from .protocol import Wire
from .server import open_session


@dataclass
class EncryptedRun:
    """Result of :func:`encrypted_inference`."""

    logits: np.ndarray  # [B, K], decrypted by the client
    wire: Wire
    seconds_per_sample: List[float] = field(default_factory=list)
    server_seconds: dict = field(default_factory=dict)
    plan: Optional[ModelPlan] = None


def encrypted_inference(model: nn.Module, images: torch.Tensor, context=None) -> EncryptedRun:
    """Classify normalised images on ciphertext with the THE-X protocol.

    Args:
        model: A converted (``beitmm.models.the_x.convert_model``) image classifier in eval mode.
        images: Normalised images [B, 3, H, W] at the model's image size (the data preprocessor's output).
        context: The client's private TenSEAL CKKS context; default: derived from the circuit depth
            (:func:`~beitmm.he.context.derive_params`). Checked before anything is encrypted.

    Returns:
        The decrypted logits, traffic and round-trip counts, per-sample and per-layer seconds.
    """
    plan = plan_image_classifier(model)
    if tuple(images.shape[-2:]) != (plan.grid[0] * plan.patch_size, plan.grid[1] * plan.patch_size):
        raise ValueError(f'images {tuple(images.shape[-2:])} do not match the model grid {plan.grid} x '
                         f'{plan.patch_size}: the relative position bias is precomputed for that grid')
    client, server = open_session(context, plan.slots, plan)
    logits, secs = [], []
    for img in images:
        t = time.perf_counter()
        blob = server.forward(client.encrypt_matrix(image_patches(img, plan.patch_size)), client)
        logits.append(client.decrypt([blob])[0])
        secs.append(time.perf_counter() - t)
    bad = {k: v for k, v in client.wire.out_of_range.items() if v}
    if bad:
        warnings.warn(f'encrypted run: inputs outside the approximations\' documented ranges (counted by the client): '
                      f'{bad} of {client.wire.checked}', stacklevel=2)
    return EncryptedRun(np.stack(logits), client.wire, secs, dict(server.seconds), plan)
