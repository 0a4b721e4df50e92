"""ViTDet window attention: beitmm's windowed ``Block`` against a transcription of ViTDet's.

The reference below transcribes detectron2 ``projects/ViTDet`` (``modeling/backbone/utils.py`` ``window_partition``
/ ``window_unpartition`` and ``modeling/backbone/vit.py`` ``Attention`` / ``Block``, ``use_rel_pos=False``, no layer
scale): pad the normed grid with zeros up to a multiple of the window, attend inside each window with the padded
tokens unmasked, crop, residual, MLP.
"""
import pytest
import torch
import torch.nn.functional as F

from beitmm.models.layers import Block
from beitmm.models.layers.windows import LN2d, window_partition, window_unpartition
from beitmm.pos_embed import relative_position_index


def vitdet_window_partition(x, window_size):
    B, H, W, C = x.shape
    pad_h = (window_size - H % window_size) % window_size
    pad_w = (window_size - W % window_size) % window_size
    if pad_h > 0 or pad_w > 0:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    Hp, Wp = H + pad_h, W + pad_w
    x = x.view(B, Hp // window_size, window_size, Wp // window_size, window_size, C)
    windows = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)
    return windows, (Hp, Wp)


def vitdet_window_unpartition(windows, window_size, pad_hw, hw):
    Hp, Wp = pad_hw
    H, W = hw
    B = windows.shape[0] // (Hp * Wp // window_size // window_size)
    x = windows.view(B, Hp // window_size, Wp // window_size, window_size, window_size, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, Hp, Wp, -1)
    if Hp > H or Wp > W:
        x = x[:, :H, :W, :].contiguous()
    return x


def vitdet_attention(x, qkv_weight, qkv_bias, proj, num_heads, bias=None):
    """ViTDet ``Attention.forward`` on [B, H, W, C] (plus an optional additive bias [heads, N, N])."""
    B, H, W, _ = x.shape
    qkv = F.linear(x, qkv_weight, qkv_bias).reshape(B, H * W, 3, num_heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.reshape(3, B * num_heads, H * W, -1).unbind(0)
    attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    if bias is not None:
        attn = attn + bias.repeat(B, 1, 1)
    attn = attn.softmax(dim=-1)
    x = (attn @ v).view(B, num_heads, H, W, -1).permute(0, 2, 3, 1, 4).reshape(B, H, W, -1)
    return proj(x)


def vitdet_block(blk, x, window_size):
    """ViTDet ``Block.forward`` (no layer scale, drop path off) with beitmm's weights; x [B, H, W, C]."""
    a = blk.attn
    qkv_bias = torch.cat((a.q_bias, torch.zeros_like(a.q_bias), a.v_bias))  # BEiT: no key bias
    shortcut = x
    x = blk.norm1(x)
    H, W = x.shape[1], x.shape[2]
    x, pad_hw = vitdet_window_partition(x, window_size)
    x = vitdet_attention(x, a.qkv.weight, qkv_bias, a.proj, a.num_heads)
    x = vitdet_window_unpartition(x, window_size, pad_hw, (H, W))
    x = shortcut + x
    return x + blk.mlp(blk.norm2(x))


@pytest.mark.parametrize('grid, window', [((6, 6), 3), ((7, 5), 3), ((4, 4), 4)])
def test_partition_matches_vitdet(grid, window):
    x = torch.randn(2, *grid, 8)
    ours, padded = window_partition(x, window)
    ref, ref_padded = vitdet_window_partition(x, window)
    assert padded == ref_padded
    assert torch.equal(ours, ref.reshape(ref.shape[0], -1, 8))
    back = window_unpartition(ours, window, padded, grid)
    assert torch.equal(back, vitdet_window_unpartition(ref, window, padded, grid))
    assert torch.equal(back, x)


@pytest.mark.parametrize('grid', [(6, 6), (7, 5)])  # 7 x 5 pads to 9 x 6: padded tokens attend unmasked
def test_windowed_block_matches_vitdet(grid):
    torch.manual_seed(0)
    blk = Block(16, 2, 32, qv_bias=True, window=None, layer_scale_init_value=0, attn_window=3).eval()
    for p in blk.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randn(2, grid[0] * grid[1], 16)
    ours = blk(x, grid)
    ref = vitdet_block(blk, x.view(2, *grid, 16), 3).reshape(2, -1, 16)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)


def test_window_bias_reads_the_window_table():
    """A window block's table is the one of a window-sized grid: each window gets the patch-to-patch bias."""
    torch.manual_seed(0)
    blk = Block(16, 2, 32, window=(3, 3), layer_scale_init_value=0, attn_window=3).eval()
    for p in blk.parameters():
        torch.nn.init.normal_(p, std=0.3)
    table = blk.attn.relative_position_bias_table  # [(2*3-1)^2 + 3, heads]
    index = relative_position_index((3, 3))[1:, 1:]  # patch-to-patch rows only (no cls token)
    bias = table[index.reshape(-1)].view(9, 9, 2).permute(2, 0, 1)  # [heads, 9, 9]
    x = torch.randn(1, 36, 16)
    a = blk.attn
    qkv_bias = torch.cat((a.q_bias, torch.zeros_like(a.q_bias), a.v_bias))
    h = blk.norm1(x).view(1, 6, 6, 16)
    windows, pad_hw = vitdet_window_partition(h, 3)
    y = vitdet_attention(windows, a.qkv.weight, qkv_bias, a.proj, 2, bias)
    y = x + vitdet_window_unpartition(y, 3, pad_hw, (6, 6)).reshape(1, 36, 16)
    ref = y + blk.mlp(blk.norm2(y))
    torch.testing.assert_close(blk(x, (6, 6)), ref, rtol=1e-5, atol=1e-5)


def test_window_block_rejects_cls_token():
    blk = Block(16, 2, 32, attn_window=2)
    with pytest.raises(ValueError, match='with_cls_token=False'):
        blk(torch.randn(1, 17, 16), (4, 4))


def test_layernorm2d_is_channel_layernorm():
    ln = LN2d(8, requires_grad=True)
    torch.nn.init.normal_(ln.weight)
    x = torch.randn(2, 8, 3, 5)
    ref = F.layer_norm(x.permute(0, 2, 3, 1), (8, ), ln.weight, ln.bias, 1e-6).permute(0, 3, 1, 2)
    torch.testing.assert_close(ln(x), ref)
