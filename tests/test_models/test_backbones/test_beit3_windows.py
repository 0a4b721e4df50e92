"""BEiT-3 as ViTDet's windowed detection backbone, against torchscale's layers (the official BEiT-3 code).

The reference runs torchscale's own ``EncoderLayer`` parts (vision expert, ``multiway_split_position=-1``) in
ViTDet's order: ``self_attn_layer_norm`` -> zero-pad and partition into windows -> torchscale ``self_attn`` per
window -> unpartition -> residual -> ``final_layer_norm`` -> ``ffn`` -> residual; global layers are torchscale's
layer as it is. The positions are torchscale's table without its cls row, bicubically resized to the detector's
grid as the checkpoint converter does.
"""
import pytest
import torch
from torchscale.architecture.config import EncoderConfig
from torchscale.component.multiway_network import set_split_position
from torchscale.model.BEiT3 import BEiT3 as TorchscaleBEiT3

from beitmm.checkpoint import load_pretrained_backbone
from beitmm.models.backbones import BEiT3

from ..test_layers.test_windows import vitdet_window_partition, vitdet_window_unpartition

D, L, H, FFN = 32, 2, 2, 64
ARCH = dict(embed_dims=D, num_layers=L, num_heads=H, feedforward_channels=FFN)


@pytest.fixture(scope='module')
def released():
    args = EncoderConfig(img_size=32, patch_size=16, vocab_size=100, multiway=True, layernorm_embedding=False,
                         normalize_output=True, no_output_layer=True, encoder_embed_dim=D, encoder_attention_heads=H,
                         encoder_ffn_embed_dim=FFN, encoder_layers=L)
    ref = TorchscaleBEiT3(args).eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return ref


def _vitdet_layer(layer, x, grid, window):
    """The parts of torchscale's EncoderLayer in ViTDet's windowed order; x [B, H*W, C]."""
    B, _, C = x.shape
    h = layer.self_attn_layer_norm(x).view(B, *grid, C)
    windows, pad_hw = vitdet_window_partition(h, window)
    windows = windows.reshape(windows.shape[0], -1, C)
    a, _ = layer.self_attn(query=windows, key=windows, value=windows, key_padding_mask=None)
    a = vitdet_window_unpartition(a.view(-1, window, window, C), window, pad_hw, grid).reshape(B, -1, C)
    x = x + a
    return x + layer.ffn(layer.final_layer_norm(x))


def test_windowed_beit3_matches_torchscale_layers(released):
    ours = BEiT3(arch=ARCH, img_size=(112, 80), modalities=('vision', ), out_type='featmap', normalize_output=False,
                 with_cls_token=False, window_size=3, window_block_indexes=[0]).eval()
    report = load_pretrained_backbone(ours, {'model': released.state_dict()})
    assert report.missing == [] and not ours.vision_embed.cls_token.requires_grad
    x = torch.randn(2, 3, 112, 80)
    grid = (7, 5)  # padded to 9 x 6 in the window layer
    released.apply(set_split_position(-1))  # every token through the vision expert
    with torch.no_grad():
        tokens = released.vision_embed.proj(x).flatten(2).transpose(1, 2)  # [B, 35, C]
        tokens = tokens + ours.encoder.embed_positions.A.weight[3:]  # the converted (resized) patch positions
        y = _vitdet_layer(released.encoder.layers[0], tokens, grid, 3)
        y, _ = released.encoder.layers[1](y, encoder_padding_mask=None)  # global layer
        ref = y.transpose(1, 2).reshape(2, D, *grid)
        torch.testing.assert_close(ours(image=x)[-1], ref, rtol=1e-5, atol=1e-5)


def test_window_settings_are_checked():
    with pytest.raises(ValueError, match='with_cls_token=False needs'):
        BEiT3(arch=ARCH, img_size=32, with_cls_token=False)
    with pytest.raises(ValueError, match='window_block_indexes'):
        BEiT3(arch=ARCH, img_size=32, modalities=('vision', ), out_type='featmap', window_block_indexes=[0])
