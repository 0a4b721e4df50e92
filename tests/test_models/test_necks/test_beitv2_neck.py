"""BEiT v2 CLS-pretraining neck inside the MIM algorithm, and the linear-probe neck / classifier."""
import math
from functools import partial
from typing import Tuple

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.models.beit import Block as TimmBlock
from timm.models.beit import RelativePositionBias as TimmRelPosBias
from torch import Tensor

from beitmm.registry import MODELS

TINY3 = dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)


def _mim(early_layers=2, drives=True, img_size=32):
    cfg = dict(
        type='beitmm.MaskedImageModeling',
        backbone=dict(type='beitmm.BEiT', arch=TINY3, img_size=img_size, out_type='raw', use_mask_token=True,
                      use_rel_pos_bias=False, use_shared_rel_pos_bias=True),
        neck=dict(type='beitmm.BEiTV2Neck', arch=TINY3, num_layers=2, early_layers=early_layers) if drives else None,
        head=dict(type='beitmm.MIMHead', in_channels=32, out_channels=16),
        target_generator=None)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _mask():
    mask = torch.zeros(2, 4, dtype=torch.bool)
    mask[0, :2] = mask[1, 1:] = True
    return mask


class _UnilmCLSReference(nn.Module):
    """The unilm BEiT v2 CLS-pretraining model rebuilt from timm's BEiT layers, not from beitmm's.

    microsoft/unilm ``beit2/modeling_pretrain.py`` ``VisionTransformerForMaskedImageModelingCLS``, the parts
    ``forward_features`` uses, from ``timm.models.beit.Block`` / ``RelativePositionBias`` (explicit-softmax
    attention, as unilm's).

    Shared relative position bias, no absolute positions (the BEiT v2 pretraining layout), qkv bias,
    layer scale, LayerNorm eps 1e-6, no dropout / drop path.
    """

    def __init__(self, dim: int, depth: int, heads: int, mlp_ratio: float, grid: int, early_layers: int,
                 head_layers: int = 2, init_values: float = 0.1) -> None:
        super().__init__()
        norm = partial(nn.LayerNorm, eps=1e-6)

        def block() -> TimmBlock:
            blk = TimmBlock(dim, heads, qkv_bias=True, mlp_ratio=mlp_ratio, init_values=init_values, norm_layer=norm)
            blk.attn.fused_attn = False  # q * scale @ k^T + bias -> softmax, as unilm's Attention
            return blk

        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, dim, 16, 16)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.rel_pos_bias = TimmRelPosBias((grid, grid), heads)
        self.blocks = nn.ModuleList([block() for _ in range(depth)])
        self.norm = norm(dim)
        self.early_layers = early_layers
        self.cls_pt_layers = nn.ModuleList([block() for _ in range(head_layers)])

    def forward_features(self, x: Tensor, bool_masked_pos: Tensor) -> Tuple[Tensor, Tensor]:
        """The unilm ``forward_features`` (shared_lm_head=True): (norm(x), norm(x_cls_pt)), cls first."""
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)  # unilm PatchEmbed
        batch_size, seq_len, _ = x.size()
        cls_tokens = self.cls_token.expand(batch_size, -1, -1)
        mask_token = self.mask_token.expand(batch_size, seq_len, -1)
        w = bool_masked_pos.unsqueeze(-1).type_as(mask_token)
        x = x * (1 - w) + mask_token * w
        x = torch.cat((cls_tokens, x), dim=1)
        rel_pos_bias = self.rel_pos_bias()
        for i, blk in enumerate(self.blocks):
            x = blk(x, shared_rel_pos_bias=rel_pos_bias)
            if i + 1 == self.early_layers:
                early_states = x[:, 1:]
        x_cls_pt = torch.cat([x[:, [0]], early_states], dim=1)
        for blk in self.cls_pt_layers:
            x_cls_pt = blk(x_cls_pt, shared_rel_pos_bias=rel_pos_bias)
        return self.norm(x), self.norm(x_cls_pt)


def _unilm_key(beitmm_key: str) -> str:
    """Beitmm MIM state-dict key -> unilm CLS-model key (``backbone.`` / ``neck.`` prefixes dropped)."""
    for prefix in ('backbone.', 'neck.'):
        if beitmm_key.startswith(prefix):
            return beitmm_key[len(prefix):]
    raise KeyError(beitmm_key)


@pytest.mark.parametrize('dtype, tol', [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_cls_branch_matches_unilm_rebuilt_from_timm_blocks(dtype, tol):
    torch.manual_seed(0)
    model = _mim(early_layers=2, img_size=64).eval().to(dtype)
    bb, neck = model.backbone, model.neck
    ref = _UnilmCLSReference(32, 3, 2, 2., grid=4, early_layers=2).eval().to(dtype)
    # random weights everywhere (non-zero rel-pos table, q/v biases, gammas), loaded into both models
    student = {k: v for k, v in model.state_dict().items() if k.startswith(('backbone.', 'neck.'))}
    weights = {k: torch.randn_like(v) * (0.02 if v.dim() > 1 else 0.5) for k, v in student.items()}
    model.load_state_dict(weights, strict=False)
    result = ref.load_state_dict({_unilm_key(k): v for k, v in weights.items()}, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    img = torch.randn(2, 3, 64, 64, dtype=dtype)
    mask = torch.rand(2, 16).argsort(1) < 6  # 6 of 16 patches masked per image
    with torch.no_grad():
        final, branch = neck(bb, img, mask)
        ref_final, ref_branch = ref.forward_features(img, mask)
    assert final.shape == branch.shape == (2, 16, 32)
    # measured (final / branch): 3.6e-7 / 3.0e-7 in float32, 4.4e-16 / 5.6e-16 in float64
    assert (final - ref_final[:, 1:]).abs().max() <= tol
    assert (branch - ref_branch[:, 1:]).abs().max() <= tol
    assert (branch - final).abs().max() > 0.1  # the branch is a different computation
    torch.testing.assert_close(final, bb(img, mask)[-1][:, 1:])  # main path = the plain backbone
    assert all(k.startswith('neck.cls_pt_layers.') for k in model.state_dict() if k.startswith('neck.'))


def test_mim_loss_is_two_cross_entropies_with_shared_head():
    torch.manual_seed(0)
    model = _mim().train()
    img, mask = torch.randn(2, 3, 32, 32), _mask()
    target = torch.randint(0, 16, (2, 4))
    model.targets = lambda view: target  # token targets without a tokenizer
    from mmengine.structures import BaseDataElement
    samples = [BaseDataElement(mask=m.view(2, 2)) for m in mask]
    torch.manual_seed(1)
    losses = model.loss([img, img], samples)
    assert set(losses) == {'loss', 'mim_acc', 'loss_1', 'mim_acc_1'}
    model.eval()
    final, branch = model.neck(model.backbone, img, mask)
    torch.testing.assert_close(losses['loss'], F.cross_entropy(model.head.fc(final[mask]), target[mask]))
    torch.testing.assert_close(losses['loss_1'], F.cross_entropy(model.head.fc(branch[mask]), target[mask]))
    model.train()
    losses = model.loss([img, img], samples)
    losses['loss_1'].backward()  # branch loss reaches the last block only through the cls token
    assert model.backbone.blocks[-1].attn.qkv.weight.grad.abs().sum() > 0
    assert model.neck.cls_pt_layers[0].mlp.fc1.weight.grad.abs().sum() > 0
    assert model.backbone.norm.weight.grad.abs().sum() > 0  # shared norm


def test_plain_mim_unchanged_without_neck_and_neck_checks_depth():
    model = _mim(drives=False)
    img = torch.randn(2, 3, 32, 32)
    assert model(img, mode='tensor')[-1].shape == (2, 5, 32)
    with pytest.raises(ValueError, match='early_layers'):
        MODELS.build(dict(type='beitmm.BEiTV2Neck', arch=TINY3, early_layers=4))
    neck = MODELS.build(dict(type='beitmm.BEiTV2Neck', arch=dict(TINY3, embed_dims=64), early_layers=2))
    with pytest.raises(ValueError, match='does not fit'):
        neck(_mim().backbone, img, _mask())


def test_branch_drop_path_follows_depth_position():
    neck = MODELS.build(dict(type='beitmm.BEiTV2Neck', arch='base', early_layers=9, drop_path_rate=0.1))
    rates = [blk.drop_path_rate for blk in neck.cls_pt_layers]
    torch.testing.assert_close(torch.tensor(rates), torch.linspace(0, 0.1, 12)[9:11])


def test_branch_init_is_pytorch_default_then_one_unilm_rescale():
    """The unilm rule for the branch: PyTorch's default init, then one rescale of the output projections.

    ``beit2/modeling_pretrain.py``: ``cls_pt_layers`` are built after the model-wide
    ``apply(_init_weights)`` (trunc-normal 0.02), so they keep ``nn.Linear``'s default init, and
    ``fix_init_cls_pt_weight`` divides ``attn.proj`` / ``mlp.fc2`` weights of branch block j by
    sqrt(2 * (early_layers + j + 1)).
    """
    torch.manual_seed(0)
    early = 9  # BEiT v2-B's branch position, on a narrow 10-block backbone (fast)
    arch = dict(embed_dims=128, num_layers=10, num_heads=2, feedforward_channels=256)
    model = MODELS.build(dict(
        type='beitmm.MaskedImageModeling',
        backbone=dict(type='beitmm.BEiT', arch=arch, img_size=32, out_type='raw', use_mask_token=True,
                      use_rel_pos_bias=False, use_shared_rel_pos_bias=True, init_mode='pretrain'),
        neck=dict(type='beitmm.BEiTV2Neck', arch=arch, num_layers=2, early_layers=early),
        head=dict(type='beitmm.MIMHead', in_channels=128, out_channels=16), target_generator=None))
    neck = model.neck
    before = {k: v.clone() for k, v in neck.state_dict().items()}
    model.init_weights()  # the whole model, as the Runner does
    neck.init_weights()  # a second call must not rescale again
    rescaled = ('attn.proj.weight', 'mlp.fc2.weight')
    for j, blk in enumerate(neck.cls_pt_layers):
        for name, mod in (('attn.qkv', blk.attn.qkv), ('attn.proj', blk.attn.proj), ('mlp.fc1', blk.mlp.fc1),
                          ('mlp.fc2', blk.mlp.fc2)):
            w0 = before[f'cls_pt_layers.{j}.{name}.weight']
            bound = 1 / mod.in_features ** 0.5  # kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            assert w0.abs().max() <= bound and w0.abs().max() > 0.98 * bound
            assert w0.std().item() == pytest.approx(bound / 3 ** 0.5, rel=0.03)  # uniform, not trunc-normal 0.02
            if mod.bias is not None:
                b0 = before[f'cls_pt_layers.{j}.{name}.bias']
                assert b0.abs().max() <= bound and (b0 != 0).all()  # default biases, not zeros
        for key, value in blk.state_dict().items():
            w0 = before[f'cls_pt_layers.{j}.{key}']
            if key in rescaled:
                assert torch.equal(value, w0 / math.sqrt(2.0 * (early + j + 1))), key  # divided exactly once
            else:
                assert torch.equal(value, w0), key  # untouched by init_weights
    # the backbone, by contrast, got unilm's trunc-normal pretraining init (std 0.54 * 0.02, bounds +-0.02)
    qkv = model.backbone.blocks[0].attn.qkv.weight
    assert qkv.abs().max() <= 0.02 and qkv.std().item() == pytest.approx(0.54 * 0.02, rel=0.05)


def test_linear_probe_neck_and_frozen_backbone():
    pytest.importorskip('mmpretrain')
    import beitmm.models.classifiers  # noqa: F401  (registers LinearProbeClassifier)
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='beitmm.LinearProbeClassifier',
        backbone=dict(type='beitmm.BEiT', arch=TINY3, img_size=32, out_type='raw', out_indices=[1],
                      drop_path_rate=0.1),
        neck=dict(type='beitmm.LinearProbeNeck', in_channels=32),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=3, in_channels=64,
                  loss=dict(type='mmpretrain.CrossEntropyLoss')),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', num_classes=3)))
    model.init_weights()
    assert list(model.neck.parameters()) == []  # BatchNorm without affine
    img = torch.randn(4, 3, 32, 32)
    model.train()
    assert not model.backbone.training and model.neck.training
    tokens = model.backbone(img)[-1]
    feat = torch.cat([tokens[:, 0], tokens[:, 1:].mean(1)], -1)
    out = model.extract_feat(img)[0]
    torch.testing.assert_close(out, (feat - feat.mean(0)) / (feat.var(0, unbiased=False) + 1e-6).sqrt())
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    head_before = model.head.fc.weight.clone()
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1, weight_decay=0.05)
    from mmpretrain.structures import DataSample
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    loss = model(img, samples, mode='loss')['loss']
    loss.backward()
    optim.step()
    assert all(torch.equal(before[k], v) for k, v in model.backbone.state_dict().items())
    assert all(p.grad is None for p in model.backbone.parameters())
    assert not torch.equal(head_before, model.head.fc.weight)
