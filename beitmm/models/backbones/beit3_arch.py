"""BEiT-3 architecture facts: width presets, layouts, output types, expert names and parameter counts."""
import math
from typing import Dict, Union

import torch.nn as nn

ARCH_ZOO = {
    # tiny is beitmm's (no official tiny BEiT-3): ViT-Ti widths, for tests and demos
    'tiny': dict(embed_dims=192, num_layers=12, num_heads=3, feedforward_channels=768),
    'base': dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072),
    'large': dict(embed_dims=1024, num_layers=24, num_heads=16, feedforward_channels=4096),
    # the paper's giant: patch 14, shared attention with V / L experts and a VL expert in the top 3 layers, 1.85B
    # (1.95B with MLM and MIM heads: the paper's "1.9B"); never released. layout='released' gives timm's
    # beit3_giant_patch14_* widths in the released layout (2.11B with both experts).
    'giant': dict(embed_dims=1408, num_layers=40, num_heads=16, feedforward_channels=6144, patch_size=14,
                  layout='paper'),
}
LAYOUTS = ('released', 'paper')
OUT_TYPES = ('raw', 'cls_token', 'featmap', 'avg_featmap')
POS_OFFSET = 2  # fairseq: positions start at 2 (torchscale PositionalEmbedding)
VISION, LANGUAGE = 'A', 'B'  # torchscale's expert names


def resolve_arch(arch: Union[str, dict]) -> dict:
    """A BEiT3 arch preset name or dict -> a dict with the widths (``embed_dims``, ``num_layers``, ...)."""
    if isinstance(arch, str):
        if arch not in ARCH_ZOO:
            raise ValueError(f'unknown BEiT3 arch {arch!r}; choose one of {sorted(ARCH_ZOO)} or pass a dict')
        return dict(ARCH_ZOO[arch])
    missing = {'embed_dims', 'num_layers', 'num_heads', 'feedforward_channels'} - set(arch)
    if missing:
        raise ValueError(f'BEiT3 arch dict lacks {sorted(missing)}')
    return dict(arch)


def count_parameters(module: nn.Module) -> int:
    """Number of parameter elements (works on the meta device)."""
    return sum(math.prod(p.shape) for p in module.parameters())


def expert_parameters(model: nn.Module) -> Dict[str, int]:
    """Parameter elements of the vision (A) and language (B) experts of a released-layout BEiT3, positions included."""
    counts = {VISION: 0, LANGUAGE: 0}
    for name, p in model.named_parameters():
        for expert in counts:
            if f'.{expert}.' in name or name == f'encoder.embed_positions.{expert}.weight':
                counts[expert] += math.prod(p.shape)
    return counts
