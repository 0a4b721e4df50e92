"""unilm's initialisation (modeling_pretrain.py): pretraining truncates at +-1 std, fine-tuning uses timm's +-2 bounds.

The reference values are analytic: a normal N(0, s^2) truncated to [-s, s] has standard deviation
s * sqrt(1 - 2 phi(1) / (2 Phi(1) - 1)) = 0.5396 s (phi, Phi: standard normal pdf / cdf), i.e. 0.01079 for
unilm's init_std 0.02 (``beit/modeling_pretrain.py`` redefines ``trunc_normal_`` with ``a=-std, b=std`` and
applies it to every Linear and Conv2d, the cls / mask tokens and the LM head, with zero biases).
"""
import math

import pytest
import torch
import torch.nn as nn

from beitmm.models import MIMHead
from beitmm.models.backbones import BEiT

STD = 0.02
PHI1 = math.exp(-0.5) / math.sqrt(2 * math.pi)  # standard normal pdf at 1
MASS = math.erf(1 / math.sqrt(2))  # P(-1 < Z < 1) = 2 Phi(1) - 1
TRUNC_STD = STD * math.sqrt(1 - 2 * PHI1 / MASS)  # 0.010792
ARCH = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=256)


def _backbone(mode: str) -> BEiT:
    torch.manual_seed(0)
    m = BEiT(arch=ARCH, img_size=64, use_mask_token=True, use_shared_rel_pos_bias=True, use_rel_pos_bias=False,
             init_mode=mode)
    m.init_weights()
    return m


def test_truncated_std_constant():
    assert TRUNC_STD == pytest.approx(0.010792, abs=1e-6)


def test_pretrain_mode_is_unilms_pretraining_init():
    m = _backbone('pretrain')
    qkv = m.blocks[0].attn.qkv.weight.detach()  # 12288 draws, not rescaled
    assert float(qkv.abs().max()) <= STD + 1e-7
    assert float(qkv.std()) == pytest.approx(TRUNC_STD, rel=0.03)
    conv = m.patch_embed.proj
    assert float(conv.weight.detach().abs().max()) <= STD + 1e-7
    assert float(conv.weight.detach().std()) == pytest.approx(TRUNC_STD, rel=0.03)
    assert torch.count_nonzero(conv.bias) == 0
    for token in (m.cls_token, m.mask_token):
        assert float(token.detach().abs().max()) <= STD + 1e-7 and float(token.detach().abs().max()) > 0
    for i, blk in enumerate(m.blocks):  # fix_init_weight: divided by sqrt(2 * (i + 1)) after the init
        bound = STD / math.sqrt(2 * (i + 1))
        for w in (blk.attn.proj.weight, blk.mlp.fc2.weight):
            assert float(w.detach().abs().max()) <= bound + 1e-7
            assert float(w.detach().std()) == pytest.approx(TRUNC_STD / math.sqrt(2 * (i + 1)), rel=0.06)
        for mod in blk.modules():
            if isinstance(mod, nn.Linear) and mod.bias is not None:
                assert torch.count_nonzero(mod.bias) == 0
        assert torch.count_nonzero(blk.attn.q_bias) == 0 and torch.all(blk.gamma_1 == 0.1)


def test_finetune_mode_is_unilms_finetuning_init():
    m = _backbone('finetune')
    qkv = m.blocks[0].attn.qkv.weight.detach()
    assert float(qkv.std()) == pytest.approx(STD, rel=0.03)  # +-2 absolute bounds: practically untruncated
    assert float(qkv.abs().max()) > 2 * STD
    assert torch.count_nonzero(m.patch_embed.proj.bias) > 0  # modeling_finetune.py leaves the conv at PyTorch's default


def test_mim_head_is_unilms_lm_head_init():
    torch.manual_seed(0)
    head = MIMHead(in_channels=64, out_channels=512)
    head.init_weights()
    w = head.fc.weight.detach()
    assert float(w.abs().max()) <= STD + 1e-7
    assert float(w.std()) == pytest.approx(TRUNC_STD, rel=0.03)
    assert torch.count_nonzero(head.fc.bias) == 0


def test_pretraining_configs_use_pretrain_init():
    from mmengine.config import Config

    from beitmm.testing.shrink import config_path
    for rel in ('beit/beit-b_pretrain_in1k.py', 'beitv2/beitv2-b_pretrain_in1k.py',
                'maskdistill/maskdistill_clip-b16_vit-b_300e_in1k.py', 'cim/cim-respix_vit-b_300e_in1k.py'):
        model = Config.fromfile(config_path(rel)).model
        assert model.backbone.init_mode == 'pretrain', rel
        if 'generator' in model:
            assert model.generator.init_mode == 'pretrain', rel
    assert Config.fromfile(config_path('beit/beit-b_in1k.py')).model.backbone.get('init_mode', 'finetune') == 'finetune'
