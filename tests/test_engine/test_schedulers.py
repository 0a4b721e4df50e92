"""beitmm.CosineAnnealingLR(min_lr=...): unilm's per-group floor ``min_lr * lr_scale``, from the optimizer's lr."""
import glob
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import LinearLR, OptimWrapper
from mmengine.registry import PARAM_SCHEDULERS

from beitmm.engine.optimizers import LayerDecayOptimWrapperConstructor
from beitmm.engine.schedulers import CosineAnnealingLR
from beitmm.testing.shrink import ROOT

LR, MIN_LR, RATE, WARMUP, TOTAL = 4e-3, 1e-6, 0.65, 3, 11

# The eta_min_ratio lines these configs had before beitmm.CosineAnnealingLR (min_lr / lr, hand-computed; issue 30)
OLD_RATIOS = {
    'beit/beit-b_in1k.py': 1e-6 / 4e-3, 'beit/beit-l_in1k.py': 1e-6 / 1e-3,
    'beit3/beit3-b_coco-captioning.py': 1e-6 / 4e-5, 'beit3/beit3-b_coco-retrieval.py': 1e-6 / 2e-4,
    'beit3/beit3-b_flickr30k-retrieval.py': 1e-6 / 1e-4, 'beit3/beit3-b_in1k.py': 1e-6 / 7e-4,
    'beit3/beit3-b_nlvr2.py': 1e-6 / 7e-4, 'beit3/beit3-b_nocaps-captioning.py': 1e-6 / 1e-5,
    'beit3/beit3-b_vqav2.py': 1e-6 / 3e-5, 'beit3/beit3-l_coco-captioning.py': 1e-6 / 8e-6,
    'beit3/beit3-l_coco-retrieval.py': 1e-6 / 5e-5, 'beit3/beit3-l_flickr30k-retrieval.py': 1e-6 / 5e-5,
    'beit3/beit3-l_in1k.py': 1e-6 / 2e-4, 'beit3/beit3-l_fsdp_in1k.py': 1e-6 / 2e-4,
    'beit3/beit3-l_nlvr2.py': 1e-6 / 3e-4, 'beit3/beit3-l_nocaps-captioning.py': 1e-6 / 8e-6,
    'beit3/beit3-l_vqav2.py': 1e-6 / 2e-5, 'beitv2/beitv2-b_1600e-pt_in1k.py': 1e-6 / 5e-4,
    'beitv2/beitv2-b_in1k.py': 1e-6 / 5e-4, 'beitv2/beitv2-l_1600e-pt_in1k.py': 1e-6 / 2e-4,
    'beitv2/beitv2-l_in1k.py': 1e-6 / 5e-4, 'cim/vit-b_cim-pt_in1k.py': 1e-6 / 4e-3,
    'maskdistill/vit-b_maskdistill-pt_in1k.py': 1e-6 / 5e-4,
}


def _layer_decay_wrapper(lr: float = LR) -> OptimWrapper:
    from beitmm.models.backbones.beit import BEiT

    class Classifier(nn.Module):

        def __init__(self) -> None:
            super().__init__()
            self.backbone = BEiT(arch=dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=32),
                                 img_size=32, patch_size=16)
            self.head = nn.Linear(16, 4)

    constructor = LayerDecayOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=lr, weight_decay=0.05)),
        dict(layer_decay_rate=RATE))
    return constructor(Classifier())


def unilm_cosine(step: int) -> float:
    """The lr of unilm cosine_scheduler (utils.py) after the warm-up: min_lr + (lr - min_lr) (1 + cos(pi i / n)) / 2."""
    i, n = min(step, TOTAL - 1) - WARMUP, TOTAL - WARMUP  # the last value is kept after the end, as unilm's
    return MIN_LR + 0.5 * (LR - MIN_LR) * (1 + math.cos(math.pi * i / n))


def test_min_lr_gives_unilm_schedule_times_each_groups_lr_scale():
    wrapper = _layer_decay_wrapper()
    groups = wrapper.optimizer.param_groups
    scales = sorted({g['lr_scale'] for g in groups})
    assert len(scales) == 4 and scales[0] == pytest.approx(RATE ** 3)  # layers 0..3: cls / patch, 2 blocks, head
    warmup = LinearLR(wrapper, start_factor=1e-4, by_epoch=False, begin=0, end=WARMUP)
    cosine = PARAM_SCHEDULERS.build(dict(type='beitmm.CosineAnnealingLR', optimizer=wrapper, by_epoch=False,
                                         begin=WARMUP, end=TOTAL, min_lr=MIN_LR))
    assert isinstance(cosine, CosineAnnealingLR)
    for step in range(TOTAL + 2):
        if step >= WARMUP:
            for g in groups:
                expected = unilm_cosine(step) * g['lr_scale']
                assert g['lr'] == pytest.approx(expected, rel=1e-6, abs=1e-15), (step, g['group_name'])
        wrapper.step()  # no gradients: keeps torch's scheduler-order check quiet
        warmup.step()
        cosine.step()
    for g in groups:  # the floor of the cosine: min_lr * lr_scale, not one floor for all groups
        assert cosine.eta_min_ratio * g['initial_lr'] == pytest.approx(MIN_LR * g['lr_scale'], rel=1e-12)


def test_the_floor_follows_the_lr_the_optimizer_was_built_with():
    """A size variant that changes only optimizer.lr (or auto_scale_lr) keeps the floor min_lr * lr_scale."""
    for lr in (1e-3, 2e-5):
        wrapper = _layer_decay_wrapper(lr)
        sched = CosineAnnealingLR(wrapper, by_epoch=False, begin=0, end=4, min_lr=MIN_LR)
        assert sched.eta_min_ratio == pytest.approx(MIN_LR / lr, rel=1e-12) and sched.eta_min is None


def test_epoch_based_configs_convert_to_iterations():
    wrapper = _layer_decay_wrapper()
    sched = CosineAnnealingLR.build_iter_from_epoch(wrapper, by_epoch=True, begin=1, end=3, min_lr=MIN_LR,
                                                    epoch_length=5)
    assert (sched.begin, sched.end, sched.by_epoch, sched.T_max) == (5, 15, False, 10)
    assert sched.eta_min_ratio == pytest.approx(MIN_LR / LR)


def test_min_lr_with_eta_min_is_refused():
    wrapper = _layer_decay_wrapper()
    for extra in (dict(eta_min=0.), dict(eta_min_ratio=0.1)):
        with pytest.raises(ValueError, match='give min_lr or'):
            CosineAnnealingLR(wrapper, by_epoch=False, begin=0, end=4, min_lr=MIN_LR, **extra)


CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True) if '_base_' not in p)


def test_every_config_keeps_its_old_floor_in_every_group():
    found = {}
    for path in CONFIGS:
        cfg = Config.fromfile(path)
        for s in cfg.get('param_scheduler') or []:
            if 'min_lr' not in s:
                continue
            lr = cfg.optim_wrapper.optimizer.lr
            params = [nn.Parameter(torch.zeros(1)) for _ in range(3)]
            optimizer = torch.optim.AdamW([dict(params=[p], lr=lr * RATE ** k) for k, p in enumerate(params)], lr=lr)
            args = {k: v for k, v in s.items() if k not in ('type', 'convert_to_iter_based')}
            sched = PARAM_SCHEDULERS.build(dict(args, type=s['type'], optimizer=optimizer))
            floors = [sched.eta_min_ratio * g['initial_lr'] for g in optimizer.param_groups]
            found[osp.relpath(path, osp.join(ROOT, 'configs'))] = floors, [lr * RATE ** k for k in range(3)]
    assert set(OLD_RATIOS) <= set(found)  # the configs that had a ratio floor before still have a min_lr floor
    for name, (floors, group_lrs) in found.items():
        if name in OLD_RATIOS:
            assert floors == pytest.approx([OLD_RATIOS[name] * g for g in group_lrs], rel=1e-12), name
        assert floors == pytest.approx([MIN_LR * RATE ** k for k in range(3)], rel=1e-12), name  # unilm's 1e-6
