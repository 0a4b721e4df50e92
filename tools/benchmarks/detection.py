"""The ``detection`` pair of ``benchmark.py``: beitmm's BEiT + SimpleFPN against mmdet's own ViTDet ``ViT``.

Both sides are mmdet 3.3 Mask R-CNNs with the heads of ``configs/_base_/models/mask-rcnn_beit_simplefpn.py`` (2-conv
RPN, 4-conv + 1-fc box head, 4-conv mask head, LayerNorm); only the backbone and pyramid differ: beitmm.BEiT +
beitmm.SimpleFPN against the ``ViT`` + ``SimpleFPN`` of mmdet's ``projects/ViTDet`` (mmdetection's source repository
only, not the mmdet wheel: ``--mmdet-src`` names a checkout, imported as ``projects.ViTDet.vitdet`` the way mmdet's
own ViTDet configs import it). Window size 14 and ViTDet's global blocks (2, 5, 8, 11 for 12 blocks) on both.

``--det-backbone`` picks what is compared:

- ``beit`` (default): each backbone as its detection config runs it. beitmm's BEiT-B has BEiT's per-block relative
  position tables and layer scale, ViTDet's ViT-B decomposed relative positions (``use_rel_pos=True``) and an
  absolute embedding; the networks differ, so the numerical check is skipped.
- ``plain``: the same network on both sides (absolute positions only, no layer scale): ViTDet's weights load into
  beitmm.BEiT (its key bias dropped: a key bias adds the same ``q . b_k`` to every logit of a query row, which the
  softmax cancels) and the pyramid and heads are copied, so the outputs and losses must agree.
"""
import importlib
import os.path as osp
import sys
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope
from torch import Tensor, nn

from beitmm.pos_embed import resize_abs_pos_embed

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE_MODEL = osp.join(ROOT, 'configs', '_base_', 'models', 'mask-rcnn_beit_simplefpn.py')
VITDET_MODULE = 'projects.ViTDet.vitdet'
CLONE_HINT = ('git clone --depth 1 -b v3.3.0 https://github.com/open-mmlab/mmdetection /path/to/mmdetection, '
              'then --mmdet-src /path/to/mmdetection')


def import_vitdet(mmdet_src: Optional[str]) -> None:
    """Import mmdet's ViTDet project (registers ``ViT``, ``SimpleFPN``, ``LN2d`` in mmdet's registry).

    Args:
        mmdet_src: Root of an mmdetection source checkout (the folder holding ``projects/ViTDet``).
    """
    if not mmdet_src:
        raise SystemExit('benchmark.py detection compares against mmdet\'s ViTDet ViT, which ships in mmdetection\'s '
                         f'source repository only (not in the mmdet wheel): {CLONE_HINT}')
    vit = osp.join(mmdet_src, *VITDET_MODULE.split('.'), '__init__.py')
    if not osp.isfile(vit):
        raise SystemExit(f'--mmdet-src {mmdet_src}: {vit} not found; {CLONE_HINT}')
    root = osp.abspath(mmdet_src)
    if root not in sys.path:  # the absolute path is what goes in, so test that one (no duplicate entries)
        sys.path.insert(0, root)
    importlib.import_module(VITDET_MODULE)


def global_blocks(depth: int) -> List[int]:
    """ViTDet's global-attention blocks: the last of each quarter (2, 5, 8, 11 for 12; 5, 11, 17, 23 for 24)."""
    return [depth // 4 * (q + 1) - 1 for q in range(4)] if depth >= 4 else [depth - 1]


def _models(arch: Dict[str, int], img: int, with_cp: bool, variant: str, window: int) -> Dict[str, dict]:
    base = Config.fromfile(BASE_MODEL).model.to_dict()
    base.pop('data_preprocessor')  # the benchmark feeds normalised tensors
    C, depth = arch['embed_dims'], arch['num_layers']
    windowed = [i for i in range(depth) if i not in global_blocks(depth)]
    plain = variant == 'plain'
    ours = dict(base, backbone=dict(
        base['backbone'], arch=arch, img_size=(img, img), drop_path_rate=0., window_size=window,
        window_block_indexes=windowed, with_cp=with_cp, use_abs_pos_emb=plain, use_rel_pos_bias=not plain,
        layer_scale_init_value=0. if plain else 0.1), neck=dict(base['neck'], in_channels=C))
    ref = dict(base, backbone=dict(
        type='ViT', img_size=img, patch_size=16, embed_dim=C, depth=depth, num_heads=arch['num_heads'],
        mlp_ratio=arch['feedforward_channels'] / C, qkv_bias=True, drop_path_rate=0., window_size=window,
        window_block_indexes=windowed, use_rel_pos=not plain, norm_cfg=dict(type='LN', eps=1e-6)),
        neck=dict(type='SimpleFPN', backbone_channel=C, in_channels=[C // 4, C // 2, C, C], out_channels=256,
                  num_outs=5, norm_cfg=dict(type='LN2d', requires_grad=True)))
    return dict(beitmm=ConfigDict(ours), reference=ConfigDict(ref))  # mmdet reads train_cfg.rpn as attributes


def _transfer(ref: nn.Module, ours: nn.Module, grid: int) -> None:
    """Copy the reference's weights into beitmm's model (``plain`` variant): backbone by name, pyramid by order."""
    src, dst = ref.backbone.state_dict(), {}
    C = src['pos_embed'].shape[-1]
    for k, v in src.items():
        if k == 'pos_embed':
            pretrain = int((v.shape[1] - 1) ** 0.5)
            dst[k] = resize_abs_pos_embed(v, pretrain, grid, num_extra_tokens=1)  # ViTDet's bicubic, done once
        elif k.endswith('attn.qkv.bias'):
            dst[k.replace('qkv.bias', 'q_bias')], dst[k.replace('qkv.bias', 'v_bias')] = v[:C], v[2 * C:]
        else:
            dst[k] = v
    own = ours.backbone.state_dict()
    dst['cls_token'], dst['norm.weight'], dst['norm.bias'] = own['cls_token'], own['norm.weight'], own['norm.bias']
    ours.backbone.load_state_dict(dst, strict=True)  # unused: cls token and final norm (with_cls_token=False maps)
    theirs, mine = list(ref.neck.state_dict().values()), ours.neck.state_dict()
    if [tuple(v.shape) for v in theirs] != [tuple(v.shape) for v in mine.values()]:
        raise RuntimeError('SimpleFPN parameters differ in order or shape between mmdet\'s ViTDet and beitmm')
    ours.neck.load_state_dict(dict(zip(mine, theirs, strict=True)))
    for head in ('rpn_head', 'roi_head'):
        getattr(ours, head).load_state_dict(getattr(ref, head).state_dict())


def _samples(batch: int, img: int, g: torch.Generator) -> list:
    """Two boxes with box-shaped masks per image, COCO-style labels."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    out = []
    for _ in range(batch):
        xy = torch.randint(0, img // 2, (2, 2), generator=g).float()
        wh = torch.randint(img // 8, img // 2, (2, 2), generator=g).float()
        boxes = torch.cat((xy, xy + wh), dim=1)  # [2, 4] xyxy
        masks = np.zeros((2, img, img), dtype=np.uint8)
        for i, (x0, y0, x1, y1) in enumerate(boxes.long().tolist()):
            masks[i, y0:y1, x0:x1] = 1
        ds = DetDataSample(metainfo=dict(img_shape=(img, img), pad_shape=(img, img), ori_shape=(img, img),
                                         batch_input_shape=(img, img), scale_factor=(1., 1.)))
        ds.gt_instances = InstanceData(bboxes=boxes, labels=torch.randint(0, 80, (2, ), generator=g),
                                       masks=BitmapMasks(masks, img, img))
        out.append(ds)
    return out


def detection_pair(arch: Dict[str, int], batch: int, img: int, with_cp: bool, mmdet_src: Optional[str],
                   variant: str = 'beit'):
    """Build beitmm's and mmdet-ViTDet's Mask R-CNNs with shared heads (and, ``plain``, shared weights).

    Args:
        arch: Widths (``embed_dims``, ``num_layers``, ``num_heads``, ``feedforward_channels``).
        batch: Images per step.
        img: Square image size (a multiple of 32).
        with_cp: Activation checkpointing in beitmm's backbone (ViTDet's ViT has none).
        mmdet_src: Root of an mmdetection source checkout.
        variant: 'beit' (each backbone as configured for detection) or 'plain' (the same network on both sides).

    Returns:
        ``(models, train_loss, infer, checks)``: dicts keyed 'beitmm' / 'reference', and (``plain`` only) the
        comparisons that must agree: the pyramid maps and the RPN losses.
    """
    from mmdet.registry import MODELS
    if variant not in ('beit', 'plain'):
        raise ValueError(f"--det-backbone {variant!r}: choose 'beit' or 'plain'")
    import_vitdet(mmdet_src)
    import beitmm.models  # noqa: F401  (registers beitmm.BEiT, beitmm.SimpleFPN)
    grid = img // 16
    window = 14 if grid >= 14 else max(1, grid // 2)  # ViTDet's 14; the tiny test grids use half the grid (choice)
    cfgs = _models(arch, img, with_cp, variant, window)
    with DefaultScope.overwrite_default_scope('mmdet'):  # unscoped head parts resolve in mmdet, as in its configs
        models = {k: MODELS.build(v) for k, v in cfgs.items()}
    for m in models.values():
        m.init_weights()
    if variant == 'plain':
        _transfer(models['reference'], models['beitmm'], grid)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, img, img, generator=g)
    samples = _samples(batch, img, g)

    def loss(m: nn.Module) -> Tensor:
        torch.manual_seed(0)  # the same RPN / RoI sampling on both sides
        losses = [v for k, v in m.loss(x, samples).items() if 'loss' in k]  # RPN: one tensor per level
        return sum(sum(v) if isinstance(v, list) else v for v in losses)

    def rpn_losses(m: nn.Module) -> Tensor:
        feats = m.extract_feat(x)
        torch.manual_seed(0)
        losses = m.rpn_head.loss_and_predict(feats, samples, proposal_cfg=m.train_cfg.rpn_proposal)[0]
        return torch.stack([sum(losses['loss_rpn_cls']), sum(losses['loss_rpn_bbox'])])

    infer = {k: (lambda m=m: m.extract_feat(x)) for k, m in models.items()}  # the 5 pyramid maps
    train_loss = {k: (lambda m=m: loss(m)) for k, m in models.items()}
    # The RoI losses are not compared: at random init the RPN scores nearly tie, so 1e-6 differences in the maps
    # reorder the top proposals and the RoI heads see different samples.
    checks = dict(pyramid_maps=dict(train=False, **infer),
                  rpn_losses=dict(train=True, **{k: (lambda m=m: rpn_losses(m)) for k, m in models.items()}))
    return models, train_loss, infer, ({k.replace('_', ' '): v for k, v in checks.items()}
                                       if variant == 'plain' else None)

