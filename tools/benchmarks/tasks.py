"""Side-by-side model pairs for ``benchmark.py``: beitmm and the reference implementation.

Each task builds both models with the same shapes, copies the reference's weights into beitmm
with beitmm's own checkpoint converters (so the numerical check compares the same network) and
returns callables for one training step and one inference forward.

References: mmpretrain ``BEiT`` + ``BEiTPretrainViT`` + ``BEiTV1Head`` + its DALL-E encoder
(pretrain), mmpretrain ``ImageClassifier`` + ``BEiTViT`` (classification), mmseg
``EncoderDecoder`` + ``BEiT`` + ``Feature2Pyramid`` + ``UPerHead`` + ``FCNHead`` (segmentation), torchscale's
``BEiT3`` (multiway, ``multiway.py``).
"""
import copy
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import torch
from mmengine.registry import DefaultScope
from torch import Tensor, nn

from beitmm.checkpoint import convert_backbone_state_dict

TASKS = ('pretrain', 'classification', 'segmentation', 'multiway', 'detection')
TINY_ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
ARCHS = {'base': dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072),
         'large': dict(embed_dims=1024, num_layers=24, num_heads=16, feedforward_channels=4096),
         'tiny-test': TINY_ARCH}


@dataclass
class Pair:
    """Both implementations of a task and their shared inputs."""
    models: Dict[str, nn.Module]  # 'beitmm' / 'reference'
    train_loss: Dict[str, Callable[[], Tensor]]  # scalar loss of one forward
    infer: Dict[str, Callable[[], Tensor]]  # main output of an inference forward
    batch: int
    comparable: bool = True  # same network on both sides: the outputs must agree
    checks: Optional[Dict[str, Dict[str, Callable[[], Tensor]]]] = None  # what to compare, if not infer / train_loss


def _sum_losses(losses: dict) -> Tensor:
    return sum(v for k, v in losses.items() if k.split('.')[-1].startswith('loss'))  # mmseg: 'decode.loss_ce'


def _copy_backbone(ref: nn.Module, ours: nn.Module) -> None:
    """Load the reference backbone's weights into beitmm's through the checkpoint converter.

    mmseg's BEiT has no final norm; beitmm keeps its (unused, frozen) ``norm`` for dense outputs.
    """
    state, report = convert_backbone_state_dict(ref.state_dict(), ours.state_shapes())
    unused = {'norm.weight', 'norm.bias'} if ours.out_type == 'featmap' else set()
    if set(report.missing) - unused or report.unexpected:
        raise RuntimeError('weight transfer reference -> beitmm is incomplete:\n' + report.table())
    ours.load_state_dict(state, strict=not report.missing)


def _pretrain(arch: dict, batch: int, img: int, with_cp: bool, tokenizer_hid: int) -> Pair:
    from mmpretrain.registry import MODELS as MMPRE
    from mmpretrain.structures import DataSample

    from beitmm.registry import MODELS
    C, L = arch['embed_dims'], arch['num_layers']
    ref_arch = dict(embed_dims=C, num_layers=L, num_heads=arch['num_heads'], feedforward_channels=arch[
        'feedforward_channels'])
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # nested unscoped defaults resolve in mmpretrain
        ref = MMPRE.build(dict(
            type='mmpretrain.BEiT',
            backbone=dict(type='mmpretrain.BEiTPretrainViT', arch=ref_arch, img_size=img, patch_size=16,
                          final_norm=True, out_type='raw', layer_scale_init_value=0.1),
            neck=None,
            head=dict(type='mmpretrain.BEiTV1Head', embed_dims=C, num_embed=8192,
                      loss=dict(type='mmpretrain.CrossEntropyLoss')),
            target_generator=dict(type='mmpretrain.DALL-E', n_hid=tokenizer_hid)))
        ours = MODELS.build(dict(
            type='beitmm.MaskedImageModeling',
            backbone=dict(type='beitmm.BEiT', arch=arch, img_size=img, out_type='raw', layer_scale_init_value=0.1,
                          use_rel_pos_bias=False, use_shared_rel_pos_bias=True, use_mask_token=True, with_cp=with_cp),
            head=dict(type='beitmm.MIMHead', in_channels=C, out_channels=8192),
            target_generator=dict(type='beitmm.DALLETokenizer', with_decoder=False, n_hid=tokenizer_hid)))
    ref.init_weights()
    _copy_backbone(ref.backbone, ours.backbone)
    ours.head.fc.load_state_dict(ref.head.cls_head.state_dict())
    ours.target_generator.encoder.load_state_dict(ref.target_generator.state_dict())
    grid = img // 16
    g = torch.Generator().manual_seed(0)
    student = torch.randn(batch, 3, img, img, generator=g)
    view = torch.rand(batch, 3, img // 2, img // 2, generator=g)  # tokenizer view, [0, 1]
    mapped = 0.8 * view + 0.1  # mmpretrain's preprocessor applies DALL-E's map_pixels
    samples: List = []
    for _ in range(batch):
        ds = DataSample()
        m = torch.zeros(grid * grid, dtype=torch.bool)
        m[torch.randperm(grid * grid, generator=g)[:max(1, round(0.4 * grid * grid))]] = True
        ds.mask = m.view(grid, grid)
        samples.append(ds)
    return Pair(
        models=dict(beitmm=ours, reference=ref),
        train_loss=dict(beitmm=lambda: _sum_losses(ours.loss([student, view], samples)),
                        reference=lambda: _sum_losses(ref.loss([student, mapped], samples))),
        infer=dict(beitmm=lambda: _sum_losses(ours.loss([student, view], samples)),
                   reference=lambda: _sum_losses(ref.loss([student, mapped], samples))),
        batch=batch)


def _classification(arch: dict, batch: int, img: int, with_cp: bool) -> Pair:
    from mmpretrain.registry import MODELS as MMPRE
    from mmpretrain.structures import DataSample
    C = arch['embed_dims']
    head = dict(type='mmpretrain.LinearClsHead', num_classes=1000, in_channels=C,
                loss=dict(type='mmpretrain.CrossEntropyLoss'))
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # nested unscoped defaults resolve in mmpretrain
        ref = MMPRE.build(dict(
            type='mmpretrain.ImageClassifier',
            backbone=dict(type='mmpretrain.BEiTViT', arch={k: v for k, v in arch.items()}, img_size=img,
                          out_type='avg_featmap', use_abs_pos_emb=False, use_rel_pos_bias=True,
                          use_shared_rel_pos_bias=False, layer_scale_init_value=0.1),
            head=head))
        ours = MMPRE.build(dict(
            type='mmpretrain.ImageClassifier',
            backbone=dict(type='beitmm.BEiT', arch=arch, img_size=img, out_type='avg_featmap', with_cp=with_cp),
            head=copy.deepcopy(head)))
    ref.init_weights()
    _copy_backbone(ref.backbone, ours.backbone)
    ours.head.load_state_dict(ref.head.state_dict())
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, img, img, generator=g)
    samples = [DataSample().set_gt_label(int(i)) for i in torch.randint(0, 1000, (batch, ), generator=g)]
    return Pair(
        models=dict(beitmm=ours, reference=ref),
        train_loss={k: (lambda m=m: _sum_losses(m.loss(x, samples)))
                    for k, m in (('beitmm', ours), ('reference', ref))},
        infer={k: (lambda m=m: m(x, mode='tensor')) for k, m in (('beitmm', ours), ('reference', ref))},
        batch=batch)


def seg_model_cfg(backbone: dict, C: int, fast_head: bool, with_cp: bool = False) -> dict:
    """Mmseg EncoderDecoder config of UperNet + BEiT with the official head widths (dropout off).

    ``fast_head`` selects ``beitmm.FastUPerHead`` and ``beitmm.LowMemoryFCNHead`` (``with_cp`` recomputes
    their maps and computes the upsampled loss in row bands).
    """
    norm = dict(type='BN', requires_grad=True)
    fast = dict(type='beitmm.FastUPerHead', with_cp=with_cp) if fast_head else dict(type='mmseg.UPerHead')
    aux = dict(type='beitmm.LowMemoryFCNHead', with_cp=with_cp) if fast_head else dict(type='mmseg.FCNHead')
    return dict(
        type='mmseg.EncoderDecoder', backbone=backbone,
        neck=dict(type='mmseg.Feature2Pyramid', embed_dim=C, rescales=[4, 2, 1, 0.5], norm_cfg=norm),
        decode_head=dict(**fast, in_channels=[C] * 4,
                         in_index=[0, 1, 2, 3], pool_scales=(1, 2, 3, 6), channels=C, dropout_ratio=0.,
                         num_classes=150, norm_cfg=norm, align_corners=False,
                         loss_decode=dict(type='mmseg.CrossEntropyLoss', loss_weight=1.0)),
        auxiliary_head=dict(**aux, in_channels=C, in_index=2, channels=256, num_convs=1,
                            concat_input=False, dropout_ratio=0., num_classes=150, norm_cfg=norm,
                            align_corners=False, loss_decode=dict(type='mmseg.CrossEntropyLoss', loss_weight=0.4)),
        train_cfg=dict(), test_cfg=dict(mode='whole'))


def _segmentation(arch: dict, batch: int, img: int, with_cp: bool) -> Pair:
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS as MMSEG
    from mmseg.structures import SegDataSample

    import beitmm.models  # noqa: F401  (registers beitmm.FastUPerHead)
    C, L = arch['embed_dims'], arch['num_layers']
    if L < 4:
        raise ValueError('segmentation needs >= 4 blocks (four pyramid levels)')
    outs = tuple(round(L * f) - 1 for f in (1 / 3, 1 / 2, 2 / 3, 1))  # (3, 5, 7, 11) for 12 blocks
    with DefaultScope.overwrite_default_scope('mmseg'):  # nested unscoped defaults resolve in mmseg
        ref = MMSEG.build(seg_model_cfg(dict(  # mmseg's BEiT has no activation checkpointing
            type='mmseg.BEiT', img_size=img, embed_dims=C, num_layers=L, num_heads=arch['num_heads'],
            mlp_ratio=arch['feedforward_channels'] // C, out_indices=outs, qv_bias=True, init_values=0.1,
            norm_cfg=dict(type='LN', eps=1e-6)), C, fast_head=False))
        ours = MMSEG.build(seg_model_cfg(dict(
            type='beitmm.BEiT', arch=arch, img_size=img, out_indices=outs, out_type='featmap', with_cp=with_cp),
            C, fast_head=True, with_cp=with_cp))
    ref.init_weights()
    _copy_backbone(ref.backbone, ours.backbone)
    rest = {k: v for k, v in ref.state_dict().items() if not k.startswith('backbone.')}
    missing, unexpected = ours.load_state_dict(rest, strict=False)
    if unexpected or any(not k.startswith('backbone.') for k in missing):
        raise RuntimeError(f'neck/head weights did not transfer: {unexpected} {missing[:5]}')
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, img, img, generator=g)
    samples = []
    for _ in range(batch):
        ds = SegDataSample(gt_sem_seg=PixelData(data=torch.randint(0, 150, (1, img, img), generator=g)))
        ds.set_metainfo(dict(img_shape=(img, img), pad_shape=(img, img), ori_shape=(img, img)))
        samples.append(ds)
    return Pair(
        models=dict(beitmm=ours, reference=ref),
        train_loss={k: (lambda m=m: _sum_losses(m.loss(x, samples)))
                    for k, m in (('beitmm', ours), ('reference', ref))},
        infer={k: (lambda m=m: m(x, mode='tensor')) for k, m in (('beitmm', ours), ('reference', ref))},
        batch=batch)


def build_pair(task: str, arch: str, batch: int, img: int, with_cp: bool = False, **options) -> Pair:
    """Build both implementations of ``task`` with shared weights and inputs.

    Args:
        task: 'pretrain' | 'classification' | 'segmentation' | 'multiway' (BEiT-3 image-text encoding).
        arch: 'base' | 'large' | 'tiny-test' (embed 32, depth 2, for tests).
        batch: Batch size.
        img: Image size (multiple of 32).
        with_cp: Activation checkpointing in beitmm's backbone, and in its FastUPerHead for
            segmentation (the references have none).
        **options: Task options: detection takes ``mmdet_src`` and ``det_backbone`` (``detection.py``).

    Returns:
        The :class:`Pair`.
    """
    from mmengine.logging import MMLogger
    MMLogger.get_instance('beitmm_benchmark', log_level='WARNING')  # no per-parameter init log
    if task not in TASKS:
        raise ValueError(f'unknown task {task!r}; choose one of {TASKS}')
    if arch not in ARCHS:
        raise ValueError(f'unknown arch {arch!r}; choose one of {sorted(ARCHS)}')
    if img % 32:
        raise ValueError(f'--img-size {img} must be a multiple of 32 (patch 16, tokenizer view img/2 in 8-px cells)')
    a = dict(ARCHS[arch])
    if arch == 'tiny-test' and task in ('segmentation', 'detection'):
        a['num_layers'] = 4
    if task == 'pretrain':
        return _pretrain(a, batch, img, with_cp, tokenizer_hid=16 if arch == 'tiny-test' else 256)
    if task == 'classification':
        return _classification(a, batch, img, with_cp)
    if task == 'detection':
        from .detection import detection_pair
        models, train_loss, infer, checks = detection_pair(a, batch, img, with_cp, options.get('mmdet_src'),
                                                            options.get('det_backbone', 'beit'))
        return Pair(models=models, train_loss=train_loss, infer=infer, batch=batch, comparable=bool(checks),
                    checks=checks)
    if task == 'multiway':
        from .multiway import multiway_pair
        models, train_loss, infer = multiway_pair(a, batch, img, with_cp)
        return Pair(models=models, train_loss=train_loss, infer=infer, batch=batch)
    return _segmentation(a, batch, img, with_cp)
