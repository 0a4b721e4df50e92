"""Which beitmm models equal a transformers 4.57 BEiT model, and that model's ``BeitConfig`` arguments.

Exportable:

- ``BeitForImageClassification``: an mmpretrain ``ImageClassifier`` of a ``beitmm.BEiT`` with ``out_type``
  'avg_featmap' (mean pooling then the final norm: ``use_mean_pooling=True``) or 'cls_token' (final norm then the
  cls token), no neck, an mmpretrain ``LinearClsHead`` (configs/beit/beit-{b,l}_in1k.py, the BEiT v2 fine-tuning
  configs, configs/demo/beit-tiny_demo_cls.py).
- ``BeitForSemanticSegmentation``: an mmseg ``EncoderDecoder`` of a ``beitmm.BEiT`` ('featmap', four distinct
  ``out_indices``, square ``img_size``), mmseg ``Feature2Pyramid`` (rescales [4, 2, 1, 0.5]), a ``UPerHead`` /
  ``beitmm.FastUPerHead`` whose ``channels`` equal the backbone width (HF: ``config.hidden_size``), and no auxiliary
  head or one ``FCNHead`` / ``beitmm.LowMemoryFCNHead`` on pyramid level 2 with undilated 3x3 convolutions;
  BatchNorm with eps 1e-5 and ReLU in the heads, ``align_corners=False`` (configs/beit/upernet_beit-*.py).

Backbones of both need exact GELU, LayerNorm blocks with one epsilon, q / v biases, a cls token, exact softmax
attention and no window attention. Anything else (a head of another width, a linear or BEiT-3 segmentor, THE-X
approximations) is refused with every reason listed (:class:`NotExportableError`).

HF's segmentation model feeds ``hidden_states[i - 1]`` to the FPN for each ``i`` of ``config.out_indices``, i.e.
block ``i - 2`` (:func:`beitmm.checkpoint.families.beit.layouts.hf_seg_out_indices`), and its config accepts
``i <= num_hidden_layers`` only, so the last block (which every shipped UperNet config reads: (3, 5, 7, 11) of 12)
cannot be named. The export then appends one identity layer (layer scales ``lambda_1 = lambda_2 = 0``: it returns
its input exactly) and names the last real block through it; ``identity_layer`` in the result says so.
"""
from typing import Dict, List, Optional, Tuple

import torch.nn as nn

from beitmm.checkpoint.families.beit.layouts import hf_seg_out_indices

BN_EPS = 1e-5  # nn.BatchNorm2d's default, which HF's FPN and BeitConvModule use


def _is_bn(m: nn.Module) -> bool:
    """A BatchNorm HF's ``nn.BatchNorm2d`` equals in eval mode (also mmengine's reverted SyncBN, ``_BatchNormXd``)."""
    return (isinstance(m, nn.modules.batchnorm._BatchNorm) and m.eps == BN_EPS and m.affine
            and m.track_running_stats)


class NotExportableError(ValueError):
    """The model has no exact transformers counterpart; the message lists every reason."""


def _backbone_kwargs(bb: nn.Module, problems: List[str]) -> dict:
    """BeitConfig arguments of a ``beitmm.BEiT``; what HF cannot express goes to ``problems``."""
    from beitmm.models.backbones import BEiT
    if not isinstance(bb, BEiT):
        problems.append(f'backbone {type(bb).__name__} is not beitmm.BEiT (HF BEiT models have a BEiT backbone)')
        return {}
    blocks = list(bb.blocks)
    norms = [bb.norm] + [n for b in blocks for n in (b.norm1, b.norm2)]
    if any(type(n) is not nn.LayerNorm for n in norms) or len({n.eps for n in norms}) > 1:
        problems.append('block norms are not LayerNorms with one epsilon (block_norm_cfg / norm_eps)')
    if any(not isinstance(b.mlp.act, nn.GELU) or b.mlp.act.approximate != 'none' for b in blocks):
        problems.append("MLP activation is not exact GELU (act_cfg; HF hidden_act='gelu')")
    if any('softmax' in b.attn._modules for b in blocks):
        problems.append('attention uses an approximated softmax (softmax_cfg)')
    if any(b.attn.q_bias is None for b in blocks):
        problems.append('qv_bias=False: HF BEiT always has query / value biases')
    if bb.window_blocks or not bb.with_cls_token:
        problems.append('window attention / with_cls_token=False (ViTDet layout)')
    scales = {b.gamma_1 is not None for b in blocks}
    per_layer = {b.attn.relative_position_bias_table is not None for b in blocks}
    if len(scales) > 1 or len(per_layer) > 1:
        problems.append('layer scale or relative position tables in some blocks only')
    size = bb.img_size
    return dict(
        hidden_size=bb.embed_dims, num_hidden_layers=bb.num_layers, num_attention_heads=bb.num_heads,
        intermediate_size=blocks[0].mlp.fc1.out_features, hidden_act='gelu', layer_norm_eps=bb.norm.eps,
        image_size=size[0] if size[0] == size[1] else list(size), patch_size=bb.patch_size,
        num_channels=bb.patch_embed.proj.in_channels, use_mask_token=bb.mask_token is not None,
        use_absolute_position_embeddings=bb.pos_embed is not None, use_relative_position_bias=per_layer == {True},
        use_shared_relative_position_bias=bb.rel_pos_bias is not None,
        layer_scale_init_value=0.1 if scales == {True} else 0.0,  # > 0: lambda_1 / lambda_2 exist (values loaded)
        # training-time settings, carried over for fine-tuning in transformers (no effect on outputs)
        hidden_dropout_prob=bb.pos_drop.p, attention_probs_dropout_prob=blocks[0].attn.attn_drop,
        drop_path_rate=round(float(blocks[-1].drop_path_rate), 6))


def _classifier(model: nn.Module, problems: List[str]) -> dict:
    from mmpretrain.models.heads import LinearClsHead
    bb, kw = model.backbone, _backbone_kwargs(model.backbone, problems)
    if not kw:
        return kw
    if model.neck is not None:
        problems.append(f'classifier neck {type(model.neck).__name__} (HF: none)')
    if type(model.head) is not LinearClsHead:
        problems.append(f'head {type(model.head).__name__} is not mmpretrain LinearClsHead (HF: one Linear)')
    if bb.out_indices != [bb.num_layers - 1]:
        problems.append(f'backbone out_indices {bb.out_indices} do not end the network (HF reads the last block)')
    if bb.out_type not in ('avg_featmap', 'cls_token') or (bb.out_type == 'cls_token' and not bb.norm_tokens):
        problems.append(f"backbone out_type {bb.out_type!r} (HF: 'avg_featmap' or normalised 'cls_token')")
    return dict(kw, use_mean_pooling=bb.out_type == 'avg_featmap', num_labels=model.head.num_classes)


def _conv_modules_ok(head: nn.Module) -> bool:
    """Every ConvModule of a head is a plain conv + BatchNorm2d (eps 1e-5) + ReLU, as HF's BeitConvModule."""
    from mmcv.cnn import ConvModule
    mods = [m for m in head.modules() if isinstance(m, ConvModule)]
    return all(type(m.conv) is nn.Conv2d and m.conv.groups == 1 and m.conv.stride == (1, 1)
               and m.with_norm and _is_bn(m.norm)
               and m.with_activation and type(m.activate) is nn.ReLU and m.order == ('conv', 'norm', 'act')
               for m in mods)


def _seg_heads(model: nn.Module, C: int, problems: List[str]) -> dict:
    from mmseg.models.decode_heads import FCNHead, UPerHead
    from mmseg.models.necks import Feature2Pyramid
    neck, head, aux = getattr(model, 'neck', None), model.decode_head, getattr(model, 'auxiliary_head', None)
    if not isinstance(neck, Feature2Pyramid) or list(neck.rescales) != [4, 2, 1, 0.5] \
            or not _is_bn(neck.upsample_4x[1]):
        problems.append(f'neck {type(neck).__name__} is not mmseg Feature2Pyramid(rescales=[4, 2, 1, 0.5]) with '
                        'BatchNorm eps 1e-5 (HF fpn1..fpn4)')
    if not isinstance(head, UPerHead) or head.channels != C or list(head.in_channels) != [C] * 4 \
            or list(head.in_index) != [0, 1, 2, 3] or head.align_corners or not _conv_modules_ok(head):
        problems.append(f'decode head {type(head).__name__} (channels {head.channels}) must be a UPerHead / '
                        f'FastUPerHead with channels = in_channels = {C} (HF: hidden_size), in_index [0, 1, 2, 3], '
                        'align_corners=False, BN + ReLU convs')
    pool_scales = list(getattr(getattr(head, 'psp_modules', None), 'pool_scales', ()))
    kw = dict(num_labels=head.conv_seg.out_channels, pool_scales=pool_scales,
              semantic_loss_ignore_index=head.ignore_index, use_auxiliary_head=aux is not None)
    if isinstance(aux, nn.ModuleList):
        problems.append('several auxiliary heads (HF: at most one FCN head)')
    elif aux is not None:
        convs = [m for m in aux.modules() if isinstance(m, nn.Conv2d) and m is not aux.conv_seg]
        if not isinstance(aux, FCNHead) or aux.in_channels != C or aux.in_index != 2 or aux.kernel_size != 3 \
                or any(c.dilation != (1, 1) for c in convs) or aux.align_corners or not _conv_modules_ok(aux) \
                or aux.conv_seg.out_channels != head.conv_seg.out_channels:
            problems.append(f'auxiliary head must be an FCNHead on in_index 2 with in_channels {C}, 3x3 '
                            'undilated BN + ReLU convs and the decode head\'s classes (HF BeitFCNHead)')
        kw.update(auxiliary_channels=aux.channels, auxiliary_num_convs=aux.num_convs,
                  auxiliary_concat_input=aux.concat_input,
                  auxiliary_loss_weight=float(getattr(aux.loss_decode, 'loss_weight', 0.4)))
    return kw


def _segmentor(model: nn.Module, problems: List[str]) -> Tuple[dict, bool]:
    bb, kw = model.backbone, _backbone_kwargs(model.backbone, problems)
    if not kw:
        return kw, False
    blocks = bb.out_indices
    if len(blocks) != 4 or len(set(blocks)) != 4 or bb.out_type != 'featmap' or bb.norm_tokens:
        problems.append(f"backbone must give 'featmap' outputs of 4 distinct blocks without the final norm, got "
                        f'out_type={bb.out_type!r}, out_indices={blocks} (HF names each block once)')
    if bb.img_size[0] != bb.img_size[1]:
        problems.append(f'img_size {bb.img_size} is not square (HF segmentation reads config.image_size as a side)')
    hf_indices = [i + 2 for i in blocks]  # HF feeds hidden_states[i - 1] = block i - 2 (hf_seg_out_indices)
    identity = max(hf_indices) > bb.num_layers  # the last block: only reachable through an appended identity layer
    if identity and kw.get('layer_scale_init_value', 0) == 0:
        problems.append('the last block feeds the FPN, which HF can name only through an appended identity layer; '
                        'that needs layer scale (lambda_1 = lambda_2 = 0), and this backbone has none')
    if hf_seg_out_indices(hf_indices) != tuple(blocks):
        raise AssertionError(f'HF out_indices {hf_indices} do not read back as {blocks}')
    kw.update(_seg_heads(model, bb.embed_dims, problems), out_indices=hf_indices, use_mean_pooling=True,
              num_hidden_layers=bb.num_layers + identity)
    return kw, identity


def hf_config_kwargs(model: nn.Module) -> Tuple[str, Dict, bool]:
    """The transformers class and ``BeitConfig`` arguments equal to ``model``.

    Args:
        model: A beitmm classifier or segmentor (e.g. from :func:`beitmm.apis.init_model`), in eval mode, with
            SyncBN already reverted to BatchNorm.

    Returns:
        ``(class name, BeitConfig kwargs, identity_layer)``: ``identity_layer`` is True when one identity layer
        is appended after the last block (segmentors that read the last block; see the module docstring).

    Raises:
        NotExportableError: Lists every setting HF's class cannot express.
    """
    problems: List[str] = []
    name, identity = type(model).__name__, False
    if name == 'ImageClassifier':
        cls, kw = 'BeitForImageClassification', _classifier(model, problems)
    elif name == 'EncoderDecoder':
        cls, (kw, identity) = 'BeitForSemanticSegmentation', _segmentor(model, problems)
    else:
        raise NotExportableError(f'model type {name} has no transformers BEiT counterpart; supported: mmpretrain '
                                 'ImageClassifier -> BeitForImageClassification, mmseg EncoderDecoder -> '
                                 'BeitForSemanticSegmentation (both with a beitmm.BEiT backbone)')
    if problems:
        raise NotExportableError(f'{name} cannot be written as {cls}:\n  - ' + '\n  - '.join(problems))
    return cls, kw, identity


def id2label(classes: Optional[List[str]], num: int) -> Dict[int, str]:
    """``{index: class name}`` when ``classes`` has ``num`` names, else HF's ``LABEL_i`` placeholders."""
    if classes is None or len(classes) != num:
        return {i: f'LABEL_{i}' for i in range(num)}
    return {i: str(c) for i, c in enumerate(classes)}
