"""Shared transformer layers: masks folded into SDPA, configurable activation and norm, unchanged key names."""
import pytest
import torch
import torch.nn as nn

from beitmm.models.layers import Attention, Block, Mlp, build_activation, build_norm, padding_to_attn_mask
from beitmm.registry import MODELS


def _explicit_attention(attn: Attention, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + bias) v written out (independent of SDPA), then the output projection."""
    B, N, C = x.shape
    h = attn.num_heads
    qkv = x @ attn.qkv.weight.t() + torch.cat([attn.q_bias, torch.zeros_like(attn.q_bias), attn.v_bias])
    q, k, v = qkv.reshape(B, N, 3, h, C // h).permute(2, 0, 3, 1, 4)
    logits = q @ k.transpose(-2, -1) / (C // h) ** 0.5 + bias
    return attn.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(B, N, C))


def _randomized(module: nn.Module) -> nn.Module:
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return module.eval()


def test_relative_bias_plus_padding_mask_matches_explicit_softmax():
    attn = _randomized(Attention(32, 4, window=(2, 3)))
    x = torch.randn(2, 7, 32)  # cls + 2x3 patches
    padding = torch.tensor([[False] * 7, [False] * 5 + [True] * 2])
    rel = attn.rel_pos_bias((2, 3))  # [heads, 7, 7]
    additive = torch.zeros(2, 1, 1, 7).masked_fill(padding[:, None, None], float('-inf'))
    expected = _explicit_attention(attn, x, rel[None] + additive)
    got = attn(x, (2, 3), attn_mask=padding_to_attn_mask(padding))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_padded_tokens_do_not_change_the_others():
    blk = _randomized(Block(32, 4, 64, window=None))
    x = torch.randn(1, 5, 32)
    padded = torch.cat([x, torch.randn(1, 3, 32)], dim=1)
    padding = torch.tensor([[False] * 5 + [True] * 3])
    out = blk(padded, attn_mask=padding_to_attn_mask(padding))
    torch.testing.assert_close(out[:, :5], blk(x), rtol=1e-5, atol=1e-6)


def test_additive_and_bool_masks_agree():
    attn = _randomized(Attention(16, 2))
    x = torch.randn(2, 4, 16)
    allowed = torch.tril(torch.ones(4, 4, dtype=torch.bool))  # causal
    additive = torch.zeros(4, 4).masked_fill(~allowed, float('-inf'))
    torch.testing.assert_close(attn(x, attn_mask=allowed), attn(x, attn_mask=additive))
    torch.testing.assert_close(attn(x, attn_mask=allowed), _explicit_attention(attn, x, additive), rtol=1e-5,
                               atol=1e-5)


def test_padding_mask_contract():
    with pytest.raises(ValueError, match='True at padding'):
        padding_to_attn_mask(torch.zeros(2, 3))


def test_activation_and_norm_from_configs():
    assert isinstance(Mlp(8, 16).act, nn.GELU)
    assert isinstance(Mlp(8, 16, act_cfg=dict(type='ReLU')).act, nn.ReLU)
    blk = Block(8, 2, 16, norm_eps=1e-5, act_cfg=dict(type='GELU', approximate='tanh'))
    assert blk.norm1.eps == 1e-5 and blk.mlp.act.approximate == 'tanh'
    assert build_norm(dict(type='LN', eps=1e-12), 8).eps == 1e-12
    with pytest.raises(KeyError):
        build_activation(dict(type='NoSuchActivation'))


@pytest.fixture
def unregister_test_types():
    yield
    for name in ('_TestSquare', '_TestScaleNorm'):  # keep the registry as other tests (the registry contract) see it
        MODELS._module_dict.pop(name, None)


def test_registered_approximations_plug_in_by_config(unregister_test_types):
    @MODELS.register_module(name='_TestSquare', force=True)
    class Square(nn.Module):  # an HE-friendly activation, as THE-X would register

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * x

    @MODELS.register_module(name='_TestScaleNorm', force=True)
    class ScaleNorm(nn.Module):

        def __init__(self, normalized_shape: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.full((normalized_shape, ), 0.5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.weight

    # scope-prefixed, as a config from an mmseg / mmpretrain project names them (any default scope)
    blk = Block(8, 2, 16, act_cfg=dict(type='beitmm._TestSquare'), norm_cfg=dict(type='beitmm._TestScaleNorm'))
    assert isinstance(blk.mlp.act, Square) and isinstance(blk.norm2, ScaleNorm)
    x = torch.randn(3, 8)
    torch.testing.assert_close(blk.mlp.act(x), x * x)
    assert {'norm1.weight', 'mlp.fc1.weight', 'attn.qkv.weight', 'gamma_1'} <= set(blk.state_dict())
