"""Fake BEiT checkpoints in every supported layout for a tiny config.

Tiny config: C=32, 2 heads, depth 2, patch 16, 4x4 grid -> tables of
(2*4-1)^2 + 3 = 52 rows.  Key names follow the real libraries: unilm
``beit/modeling_finetune.py`` / ``modeling_pretrain.py``, timm
``timm/models/beit.py``, mmpretrain ``BEiTViT``, mmseg ``BEiT`` +
``Feature2Pyramid``, HF ``modeling_beit.py`` /
``convert_beit_unilm_to_pytorch.py``.
"""
import importlib.util
from pathlib import Path
from typing import Dict, Tuple

import torch

C, HEADS, DEPTH, PATCH = 32, 2, 2, 16


def table_rows(grid: Tuple[int, int]) -> int:
    return (2 * grid[0] - 1) * (2 * grid[1] - 1) + 3


def official(seed: int = 0, *, shared: bool = False, per_layer: bool = True,
             mask_token: bool = False, lm_head: bool = False,
             fc_norm: bool = False, head: int = 0, pos_embed: bool = False,
             index: bool = True, grid=(4, 4)) -> Dict[str, torch.Tensor]:
    """The unilm layout (timm when ``index=False``) with random values."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    rows, n = table_rows(grid), grid[0] * grid[1]
    sd = {'cls_token': r(1, 1, C), 'patch_embed.proj.weight': r(C, 3, 16, 16),
          'patch_embed.proj.bias': r(C)}
    if mask_token:
        sd['mask_token'] = r(1, 1, C)
    if pos_embed:
        sd['pos_embed'] = r(1, 1 + n, C)
    if shared:
        sd['rel_pos_bias.relative_position_bias_table'] = r(rows, HEADS)
        if index:
            sd['rel_pos_bias.relative_position_index'] = torch.zeros(
                n + 1, n + 1, dtype=torch.long)
    for i in range(DEPTH):
        b = f'blocks.{i}.'
        sd.update({
            b + 'gamma_1': r(C), b + 'gamma_2': r(C),
            b + 'norm1.weight': r(C), b + 'norm1.bias': r(C),
            b + 'attn.q_bias': r(C), b + 'attn.v_bias': r(C),
            b + 'attn.qkv.weight': r(3 * C, C),
            b + 'attn.proj.weight': r(C, C), b + 'attn.proj.bias': r(C),
            b + 'norm2.weight': r(C), b + 'norm2.bias': r(C),
            b + 'mlp.fc1.weight': r(4 * C, C), b + 'mlp.fc1.bias': r(4 * C),
            b + 'mlp.fc2.weight': r(C, 4 * C), b + 'mlp.fc2.bias': r(C)})
        if per_layer:
            sd[b + 'attn.relative_position_bias_table'] = r(rows, HEADS)
            if index:
                sd[b + 'attn.relative_position_index'] = torch.zeros(
                    n + 1, n + 1, dtype=torch.long)
    norm = 'fc_norm.' if fc_norm else 'norm.'
    sd.update({norm + 'weight': r(C), norm + 'bias': r(C)})
    if lm_head:
        sd.update({'lm_head.weight': r(8192, C), 'lm_head.bias': r(8192)})
    if head:
        sd.update({'head.weight': r(head, C), 'head.bias': r(head)})
    return sd


def beitmm_shapes(*, shared: bool = False, per_layer: bool = True,
                  mask_token: bool = False, pos_embed: bool = False,
                  grid=(4, 4)) -> Dict[str, torch.Size]:
    """Target ``{name: shape}`` of a beitmm backbone (spec layout)."""
    sd = official(shared=shared, per_layer=per_layer, mask_token=mask_token,
                  pos_embed=pos_embed, index=False, grid=grid)
    return {k: v.shape for k, v in sd.items()}


_OPENMMLAB = [('patch_embed.proj.', 'patch_embed.projection.'),
              ('.norm1.', '.ln1.'), ('.norm2.', '.ln2.'),
              ('.mlp.fc1.', '.ffn.layers.0.0.'), ('.mlp.fc2.', '.ffn.layers.1.')]


def to_openmmlab(sd: Dict[str, torch.Tensor],
                 final_norm: str) -> Dict[str, torch.Tensor]:
    """Rename unilm keys to mmpretrain BEiTViT / mmseg BEiT names.

    ``final_norm``: 'ln1' (mmpretrain ``final_norm=True``; mmseg's
    ``final_norm`` module is also named ``ln1`` by mmcv's build_norm_layer),
    'ln2' (mmpretrain ``avg_featmap`` pooling norm) or '' (none).
    """
    out = {}
    for key, value in sd.items():
        if 'relative_position_index' in key:
            continue
        key = key.replace('blocks.', 'layers.')
        for old, new in _OPENMMLAB:
            key = key.replace(old, new)
        if key.startswith(('norm.', 'fc_norm.')):
            if not final_norm:
                continue
            key = final_norm + '.' + key.split('.')[-1]
        out[key] = value
    return out


def to_hf(sd: Dict[str, torch.Tensor], prefix: str = 'beit.',
          mim: bool = False) -> Dict[str, torch.Tensor]:
    """Rename unilm keys to HF BeitModel names (q/k/v split, lambda, pooler)."""
    p = prefix
    out = {p + 'embeddings.cls_token': sd['cls_token'],
           p + 'embeddings.patch_embeddings.projection.weight':
           sd['patch_embed.proj.weight'],
           p + 'embeddings.patch_embeddings.projection.bias':
           sd['patch_embed.proj.bias']}
    if 'mask_token' in sd:
        out[p + 'embeddings.mask_token'] = sd['mask_token']
    if 'pos_embed' in sd:
        out[p + 'embeddings.position_embeddings'] = sd['pos_embed']
    if 'rel_pos_bias.relative_position_bias_table' in sd:
        out[p + 'encoder.relative_position_bias.relative_position_bias_table'] \
            = sd['rel_pos_bias.relative_position_bias_table']
    for i in range(DEPTH):
        b, h = f'blocks.{i}.', f'{p}encoder.layer.{i}.'
        q, k, v = sd[b + 'attn.qkv.weight'].chunk(3)
        att = h + 'attention.attention.'
        out.update({
            att + 'query.weight': q, att + 'query.bias': sd[b + 'attn.q_bias'],
            att + 'key.weight': k, att + 'value.weight': v,
            att + 'value.bias': sd[b + 'attn.v_bias'],
            h + 'attention.output.dense.weight': sd[b + 'attn.proj.weight'],
            h + 'attention.output.dense.bias': sd[b + 'attn.proj.bias'],
            h + 'layernorm_before.weight': sd[b + 'norm1.weight'],
            h + 'layernorm_before.bias': sd[b + 'norm1.bias'],
            h + 'layernorm_after.weight': sd[b + 'norm2.weight'],
            h + 'layernorm_after.bias': sd[b + 'norm2.bias'],
            h + 'intermediate.dense.weight': sd[b + 'mlp.fc1.weight'],
            h + 'intermediate.dense.bias': sd[b + 'mlp.fc1.bias'],
            h + 'output.dense.weight': sd[b + 'mlp.fc2.weight'],
            h + 'output.dense.bias': sd[b + 'mlp.fc2.bias'],
            h + 'lambda_1': sd[b + 'gamma_1'], h + 'lambda_2': sd[b + 'gamma_2']})
        if b + 'attn.relative_position_bias_table' in sd:
            out[att + 'relative_position_bias.relative_position_bias_table'] = \
                sd[b + 'attn.relative_position_bias_table']
    norm = 'fc_norm.' if 'fc_norm.weight' in sd else 'norm.'
    dst = 'layernorm.' if mim else p + 'pooler.layernorm.'
    for s in ('weight', 'bias'):
        out[dst + s] = sd[norm + s]
        if 'head.' + s in sd:
            out['classifier.' + s] = sd['head.' + s]
        if 'lm_head.' + s in sd:
            out['lm_head.' + s] = sd['lm_head.' + s]
    return out


def seg_extras(seed: int = 1, classes: int = 150) -> Dict[str, torch.Tensor]:
    """Official ADE20K FPN (inside the backbone) and mmseg heads."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    sd = {'backbone.fpn1.0.weight': r(C, C, 2, 2), 'backbone.fpn1.0.bias': r(C),
          'backbone.fpn1.1.weight': r(C), 'backbone.fpn1.1.bias': r(C),
          'backbone.fpn1.1.running_mean': r(C),
          'backbone.fpn1.1.running_var': r(C).abs(),
          'backbone.fpn1.1.num_batches_tracked': torch.tensor(7),
          'backbone.fpn1.3.weight': r(C, C, 2, 2), 'backbone.fpn1.3.bias': r(C),
          'backbone.fpn2.0.weight': r(C, C, 2, 2), 'backbone.fpn2.0.bias': r(C)}
    sd.update({'decode_head.conv_seg.weight': r(classes, C, 1, 1),
               'decode_head.conv_seg.bias': r(classes),
               'decode_head.bottleneck.conv.weight': r(C, 4 * C, 3, 3),
               'auxiliary_head.conv_seg.weight': r(classes, C, 1, 1)})
    return sd


def assert_core_equal(out, ref, prefix=''):
    """Every parameter of the unilm reference lands at the beitmm key."""
    for i in range(DEPTH):
        for name in ('attn.qkv.weight', 'attn.q_bias', 'attn.v_bias',
                     'attn.proj.weight', 'norm1.weight', 'norm2.bias',
                     'mlp.fc1.weight', 'mlp.fc2.bias', 'gamma_1', 'gamma_2'):
            key = f'blocks.{i}.{name}'
            assert torch.equal(out[prefix + key], ref[key]), key
    for key in ('cls_token', 'patch_embed.proj.weight'):
        assert torch.equal(out[prefix + key], ref[key]), key


def seg_target(classes=150, grid=(4, 4)):
    target = {'backbone.' + k: s
              for k, s in beitmm_shapes(grid=grid).items()}
    for key, value in seg_extras(classes=classes).items():
        key = key.replace('backbone.fpn1.', 'neck.upsample_4x.')
        target[key.replace('backbone.fpn2.', 'neck.upsample_2x.')] = \
            value.shape
    return target


def load_tool():
    path = Path(__file__).parents[4] / 'tools/model_converters/convert_beit.py'
    spec = importlib.util.spec_from_file_location('convert_beit', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
