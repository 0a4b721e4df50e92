"""beitmm.FastUPerHead computes mmseg UPerHead's function (outputs and gradients) with the same weights."""
import pytest
import torch
from mmseg.models.decode_heads import UPerHead

from beitmm.models.decode_heads import FastUPerHead
from beitmm.registry import MODELS


@pytest.fixture(autouse=True)
def _mmseg_scope():
    """The heads build their default loss ('CrossEntropyLoss') in mmseg's scope, whatever other tests set."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def _heads(align_corners=False):
    kw = dict(in_channels=[16] * 4, in_index=[0, 1, 2, 3], pool_scales=(1, 2, 3, 6), channels=16, dropout_ratio=0.,
              num_classes=5, norm_cfg=dict(type='BN'), align_corners=align_corners)
    ref, fast = UPerHead(**kw), FastUPerHead(**kw)
    fast.load_state_dict(ref.state_dict(), strict=True)  # one state-dict layout
    return ref, fast


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('train', [True, False])
def test_same_outputs_and_gradients(align_corners, train):
    torch.manual_seed(0)
    ref, fast = _heads(align_corners)
    ref.train(train)
    fast.train(train)
    feats = [torch.randn(2, 16, 24 // 2**i, 20 // 2**i) for i in range(4)]  # non-square pyramid
    outs, grads = [], []
    for head in (ref, fast):
        xs = [f.clone().requires_grad_() for f in feats]
        out = head(xs)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        outs.append(out.detach())
        grads.append([x.grad for x in xs] + [head.fpn_bottleneck.conv.weight.grad])
    assert outs[0].shape == (2, 5, 24, 20)
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-4, atol=1e-5)
    for g_fast, g_ref in zip(grads[1], grads[0], strict=True):
        torch.testing.assert_close(g_fast, g_ref, rtol=1e-4, atol=1e-4)


def test_registered_and_falls_back_for_other_kernels():
    head = MODELS.build(dict(type='beitmm.FastUPerHead', in_channels=[8] * 4, in_index=[0, 1, 2, 3], channels=8,
                             num_classes=3))
    assert isinstance(head, FastUPerHead) and head._fast_path_ok()
    head.fpn_bottleneck.conv.padding = (2, 2)
    head.fpn_bottleneck.conv.dilation = (2, 2)
    assert not head._fast_path_ok()
    out = head([torch.randn(1, 8, 16 // 2**i, 16 // 2**i) for i in range(4)])
    assert out.shape == (1, 3, 16, 16) and torch.isfinite(out).all()


def test_activation_checkpointing_same_gradients():
    torch.manual_seed(0)
    _, plain = _heads()
    cp = FastUPerHead(in_channels=[16] * 4, in_index=[0, 1, 2, 3], channels=16, dropout_ratio=0., num_classes=5,
                      norm_cfg=dict(type='BN'), with_cp=True)
    cp.load_state_dict(plain.state_dict())
    feats = [torch.randn(2, 16, 16 // 2**i, 16 // 2**i) for i in range(4)]
    grads = []
    for head in (plain, cp):
        xs = [f.clone().requires_grad_() for f in feats]
        head(xs).square().sum().backward()
        grads.append([x.grad for x in xs] + [p.grad for p in head.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
