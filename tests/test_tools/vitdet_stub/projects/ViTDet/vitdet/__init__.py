"""A stand-in for mmdetection's ``projects/ViTDet/vitdet`` (source repository only, not the mmdet wheel).

A transcription of the parts ``benchmark.py detection`` builds, with the project's registered names, arguments and
state-dict keys: ``ViT`` (patch embedding, an absolute embedding of the 224-px grid plus a cls slot, resized
bicubically on every forward; pre-norm blocks with a full qkv bias, windowed blocks padding the grid with zeros,
optional decomposed relative positions; a [B, C, H, W] map out), ``SimpleFPN`` (``fpn1`` .. ``fpn4``, lateral and
output ConvModules, max-pooled extra level) and ``LN2d``. The window partition comes from the ViTDet transcription in
``tests/test_models/test_layers/test_windows.py``.
"""
import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from tests.test_models.test_layers.test_windows import vitdet_window_partition, vitdet_window_unpartition


@MODELS.register_module()
class LN2d(nn.Module):
    """LayerNorm over the channels of [B, C, H, W]."""

    def __init__(self, normalized_shape, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        return self.weight[:, None, None] * (x - mean) / torch.sqrt(var + self.eps) + self.bias[:, None, None]


def rel_table(size, table):
    """Rows of a [2 * size - 1, C] table for query-key offsets within one axis: [size, size, C]."""
    coords = torch.arange(size)[:, None] - torch.arange(size)[None, :] + size - 1
    return table[coords]


class Attention(nn.Module):

    def __init__(self, dim, heads, use_rel_pos, size):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.use_rel_pos = use_rel_pos
        if use_rel_pos:
            self.rel_pos_h = nn.Parameter(torch.zeros(2 * size[0] - 1, dim // heads))
            self.rel_pos_w = nn.Parameter(torch.zeros(2 * size[1] - 1, dim // heads))

    def forward(self, x):  # [B, H, W, C]
        B, H, W, C = x.shape
        q, k, v = self.qkv(x).reshape(B, H * W, 3, self.heads, -1).permute(2, 0, 3, 1, 4).reshape(
            3, B * self.heads, H * W, -1).unbind(0)
        attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)  # [B*heads, HW, HW]
        if self.use_rel_pos:
            rq = q.reshape(-1, H, W, q.shape[-1])
            rel_h = torch.einsum('bhwc,hkc->bhwk', rq, rel_table(H, self.rel_pos_h))
            rel_w = torch.einsum('bhwc,wkc->bhwk', rq, rel_table(W, self.rel_pos_w))
            attn = (attn.view(-1, H, W, H, W) + rel_h[..., None] + rel_w[:, :, :, None, :]).view(-1, H * W, H * W)
        x = (attn.softmax(-1) @ v).view(B, self.heads, H, W, -1).permute(0, 2, 3, 1, 4).reshape(B, H, W, C)
        return self.proj(x)


class Mlp(nn.Module):

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):

    def __init__(self, dim, heads, mlp_ratio, norm_cfg, use_rel_pos, window, size):
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, dim)[1]
        self.attn = Attention(dim, heads, use_rel_pos, (window, window) if window else size)
        self.norm2 = build_norm_layer(norm_cfg, dim)[1]
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.window = window

    def forward(self, x):  # [B, H, W, C]
        h = self.norm1(x)
        if self.window:
            H, W = h.shape[1:3]
            h, pad_hw = vitdet_window_partition(h, self.window)
            h = vitdet_window_unpartition(self.attn(h), self.window, pad_hw, (H, W))
        else:
            h = self.attn(h)
        x = x + h
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):

    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x):
        return self.proj(x).permute(0, 2, 3, 1)


@MODELS.register_module()
class ViT(BaseModule):
    """Plain ViT with windowed blocks; [B, 3, H, W] -> [B, C, H/16, W/16]."""

    def __init__(self, img_size=1024, patch_size=16, embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0,
                 qkv_bias=True, drop_path_rate=0.0, norm_cfg=None, use_rel_pos=False,
                 window_size=0, window_block_indexes=(), pretrain_img_size=224, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        assert qkv_bias and drop_path_rate == 0.0
        norm_cfg = norm_cfg or dict(type='LN', eps=1e-6)
        self.patch_embed = PatchEmbed(patch_size, embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, (pretrain_img_size // patch_size) ** 2 + 1, embed_dim))
        size = (img_size // patch_size, img_size // patch_size)
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, norm_cfg, use_rel_pos,
                  window_size if i in window_block_indexes else 0, size) for i in range(depth))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.patch_embed(x)
        H, W = x.shape[1:3]
        n = int((self.pos_embed.shape[1] - 1) ** 0.5)
        pos = F.interpolate(self.pos_embed[:, 1:].reshape(1, n, n, -1).permute(0, 3, 1, 2), size=(H, W),
                            mode='bicubic', align_corners=False)
        x = x + pos.permute(0, 2, 3, 1)
        for blk in self.blocks:
            x = blk(x)
        return x.permute(0, 3, 1, 2)


@MODELS.register_module()
class SimpleFPN(BaseModule):
    """Strides 4, 8, 16, 32 from one stride-16 map, then a 1x1 and a 3x3 ConvModule per level, plus max pooling."""

    def __init__(self, backbone_channel, in_channels, out_channels, num_outs, norm_cfg=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        c = backbone_channel
        self.fpn1 = nn.Sequential(nn.ConvTranspose2d(c, c // 2, 2, 2), build_norm_layer(norm_cfg, c // 2)[1],
                                  nn.GELU(), nn.ConvTranspose2d(c // 2, c // 4, 2, 2))
        self.fpn2 = nn.Sequential(nn.ConvTranspose2d(c, c // 2, 2, 2))
        self.fpn3 = nn.Sequential(nn.Identity())
        self.fpn4 = nn.Sequential(nn.MaxPool2d(kernel_size=2, stride=2))
        self.lateral_convs = nn.ModuleList(
            ConvModule(i, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None, inplace=False) for i in in_channels)
        self.fpn_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=None, inplace=False)
            for _ in in_channels)
        self.num_outs = num_outs

    def forward(self, x):
        levels = [self.fpn1(x), self.fpn2(x), self.fpn3(x), self.fpn4(x)]
        outs = [f(lat(y)) for y, lat, f in zip(levels, self.lateral_convs, self.fpn_convs, strict=True)]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
