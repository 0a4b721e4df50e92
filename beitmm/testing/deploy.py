"""Tiny shipped-config models with random, non-zero weights, written as config + checkpoint files (export tests).

Each kind shrinks a real config (:mod:`.shrink`, :mod:`.vl`) and saves it with a checkpoint whose every weight is
perturbed (layer scales, relative position tables, BN statistics and heads included), so that an export that
drops or mixes up any weight changes the outputs.
"""
import os.path as osp
from typing import Tuple

import torch
import torch.nn as nn
from mmengine.config import Config

from .shrink import TINY, config_path, tiny_cls_config, tiny_seg_config
from .vl import TINY_BEIT3, TINY_VLMO, shrink_vl_config

KINDS = ('cls', 'seg', 'beit3-retrieval', 'vlmo-retrieval')


def perturb_(model: nn.Module, scale: float = 0.05, seed: int = 0) -> nn.Module:
    """Add ``scale`` * N(0, 1) noise to every floating weight and buffer (BN variances kept >= 0.5), in place.

    Args:
        model: The model.
        scale: Noise standard deviation (a choice: logits stay O(1) for the tiny models).
        seed: Noise seed.

    Returns:
        The model.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            t.add_(scale * torch.randn(t.shape, generator=gen).to(t.dtype))
            if key.endswith('running_var'):
                t.abs_().add_(0.5)
    return model


def tiny_config(kind: str, root: str) -> Config:
    """The shrunk config of one kind (data paths under ``root``; nothing is read from them to build the model).

    ``cls``: configs/beit/beit-b_in1k.py at 2 x 32, 32 px, 4 classes. ``seg``: configs/beit/upernet_beit-b_ade20k.py
    at 4 x 32, 64 px, blocks (0, 1, 2, 3) to the FPN, UperNet channels 32 (= the width, as HF's head), the
    auxiliary FCN head at 8 channels, 150 ADE20K classes. ``beit3-retrieval`` / ``vlmo-retrieval``:
    configs/beit3/beit3-b_coco-retrieval.py / configs/vlmo/vlmo-b_coco-retrieval.py at 2 x 32, 32 px, tiny
    tokenizers.

    Args:
        kind: One of :data:`KINDS`.
        root: Folder for the data paths and work dir.

    Returns:
        The config.
    """
    if kind == 'cls':
        return tiny_cls_config(config_path('beit/beit-b_in1k.py'), root, root, num_classes=4)
    if kind == 'seg':
        cfg = tiny_seg_config(config_path('beit/upernet_beit-b_ade20k.py'), root, root, size=64)
        cfg.model.backbone.update(arch=dict(TINY, num_layers=4), out_indices=(0, 1, 2, 3))
        cfg.model.decode_head.channels = TINY['embed_dims']
        return cfg
    if kind in ('beit3-retrieval', 'vlmo-retrieval'):
        beit3 = kind.startswith('beit3')
        cfg = Config.fromfile(config_path('beit3/beit3-b_coco-retrieval.py' if beit3 else
                                          'vlmo/vlmo-b_coco-retrieval.py'))
        cfg.model.backbone.arch = dict(TINY_BEIT3 if beit3 else TINY_VLMO)
        return shrink_vl_config(cfg, root, root)
    raise ValueError(f'kind must be one of {KINDS}, got {kind!r}')


def tiny_model_files(kind: str, root: str, seed: int = 0) -> Tuple[str, str, nn.Module]:
    """Write ``<root>/<kind>.py`` and ``<root>/<kind>.pth`` (perturbed weights) and return the model too.

    Args:
        kind: One of :data:`KINDS`.
        root: Output folder.
        seed: Seed of the perturbation.

    Returns:
        ``(config path, checkpoint path, model)`` with the model in eval mode holding the saved weights.
    """
    from mmengine.model import revert_sync_batchnorm

    from beitmm.apis import init_model
    cfg = tiny_config(kind, root)
    torch.manual_seed(seed)  # the model's own initialisation, before the perturbation
    model = perturb_(revert_sync_batchnorm(init_model(cfg)), seed=seed).eval()
    config, ckpt = osp.join(root, f'{kind}.py'), osp.join(root, f'{kind}.pth')
    cfg.dump(config)
    torch.save({'state_dict': model.state_dict()}, ckpt)
    return config, ckpt, model
