"""The ``multiway`` pair of ``benchmark.py``: beitmm.BEiT3 against torchscale's BEiT3 (the official backbone).

Both encode image-text pairs (224 px image, 64 text tokens with padding, unilm's default text length) with the
same weights: torchscale's state dict loads into beitmm.BEiT3 by copy. The training loss is the mean square of the
final hidden states (an objective-free stand-in that backpropagates through every layer).
"""
from typing import Dict

import torch
from torch import Tensor, nn


def _configs(arch: Dict[str, int], img: int) -> dict:
    from torchscale.architecture.config import EncoderConfig
    return EncoderConfig(img_size=img, patch_size=16, vocab_size=64010, multiway=True, layernorm_embedding=False,
                         normalize_output=True, no_output_layer=True, encoder_embed_dim=arch['embed_dims'],
                         encoder_attention_heads=arch['num_heads'],
                         encoder_ffn_embed_dim=arch['feedforward_channels'], encoder_layers=arch['num_layers'])


def multiway_pair(arch: Dict[str, int], batch: int, img: int, with_cp: bool, text_len: int = 64):
    """Build beitmm.BEiT3 and torchscale's BEiT3 with shared weights and inputs.

    Args:
        arch: Widths (``embed_dims``, ``num_layers``, ``num_heads``, ``feedforward_channels``).
        batch: Batch size.
        img: Image size.
        with_cp: Activation checkpointing in beitmm's model (torchscale's needs fairscale's wrapper: off).
        text_len: Text tokens per sample (the last quarter is padding in half of the batch).

    Returns:
        ``(models, train_loss, infer)`` dicts keyed 'beitmm' / 'reference'.
    """
    from torchscale.model.BEiT3 import BEiT3 as TorchscaleBEiT3

    from beitmm.models.backbones import BEiT3
    ref = TorchscaleBEiT3(_configs(arch, img))
    ours = BEiT3(arch=arch, img_size=img, with_cp=with_cp)
    ours.load_state_dict(ref.state_dict(), strict=True)
    g = torch.Generator().manual_seed(0)
    image = torch.randn(batch, 3, img, img, generator=g)
    text = torch.randint(3, 64010, (batch, text_len), generator=g)
    pad = torch.zeros(batch, text_len, dtype=torch.bool)
    pad[::2, -text_len // 4:] = True

    def run_ref() -> Tensor:
        return ref(visual_tokens=image, textual_tokens=text, text_padding_position=pad)['encoder_out']

    def run_ours() -> Tensor:
        return ours(image=image, text=text, text_padding_mask=pad)[-1]

    models: Dict[str, nn.Module] = dict(beitmm=ours, reference=ref)
    infer = dict(beitmm=run_ours, reference=run_ref)
    train_loss = {k: (lambda f=f: f().pow(2).mean()) for k, f in infer.items()}
    return models, train_loss, infer
