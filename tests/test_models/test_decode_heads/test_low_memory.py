"""LowMemoryHeadMixin: the banded upsample + cross-entropy equals mmseg's resize + CrossEntropyLoss + accuracy."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.decode_heads import FCNHead, UPerHead
from mmseg.structures import SegDataSample

from beitmm.models.decode_heads import (
    FastUPerHead,
    LowMemoryFCNHead,
    SegLabelRangeError,
    interp_matrix,
    upsampled_cross_entropy,
)


@pytest.fixture(autouse=True)
def _mmseg_scope():
    """The heads build their loss ('CrossEntropyLoss') in mmseg's scope, whatever other tests set."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


@pytest.mark.parametrize('n_in,n_out,align_corners', [(16, 64, False), (16, 64, True), (7, 30, False),
                                                      (9, 4, False), (1, 8, False), (5, 13, True), (6, 6, False)])
def test_interp_matrix_is_f_interpolate(n_in, n_out, align_corners):
    x = torch.randn(2, 3, n_in, n_in + 3, dtype=torch.float64)
    ry = interp_matrix(n_in, n_out, align_corners).double()
    rx = interp_matrix(n_in + 3, n_out + 5, align_corners).double()
    ref = F.interpolate(x, size=(n_out, n_out + 5), mode='bilinear', align_corners=align_corners)
    torch.testing.assert_close(ry @ x @ rx.t(), ref, rtol=0, atol=1e-6)
    assert torch.allclose(ry.sum(1), torch.ones(n_out, dtype=torch.float64))  # rows are convex weights


@pytest.mark.parametrize('avg_non_ignore', [False, True])
@pytest.mark.parametrize('band_elems', [1, 700, 1 << 22])  # one row per band .. everything in one band
def test_loss_grad_and_accuracy_match_mmseg(avg_non_ignore, band_elems):
    from mmseg.models.losses import CrossEntropyLoss, accuracy
    torch.manual_seed(0)
    x = torch.randn(2, 5, 8, 10) * 3
    label = torch.randint(0, 5, (2, 1, 29, 37))
    label[0, :, :6] = 255  # ignored rows
    crit = CrossEntropyLoss(avg_non_ignore=avg_non_ignore)
    xr = x.clone().requires_grad_()
    up = F.interpolate(xr, size=(29, 37), mode='bilinear', align_corners=False)
    ref = crit(up, label.squeeze(1), ignore_index=255)
    ref.backward()
    xo = x.clone().requires_grad_()
    loss, acc = upsampled_cross_entropy(xo, label, 255, False, avg_non_ignore, band_elems=band_elems)
    loss.backward()
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(xo.grad, xr.grad, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(acc, accuracy(up.detach(), label.squeeze(1), ignore_index=255), rtol=1e-5, atol=1e-4)
    assert 0 < acc.item() < 100


def test_label_outside_classes_is_named():
    x = torch.randn(1, 4, 4, 4, requires_grad=True)
    label = torch.zeros(1, 16, 16, dtype=torch.long)
    label[0, 3, 3] = 7
    with pytest.raises(SegLabelRangeError, match=r'\[7\].*outside \[0, 3\]'):
        upsampled_cross_entropy(x, label)


def _samples(B, H, W, K, seed=0, ignored_rows=2):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(B):
        lbl = torch.randint(0, K, (1, H, W), generator=g)
        lbl[:, :ignored_rows] = 255
        out.append(SegDataSample(gt_sem_seg=PixelData(data=lbl)))
    return out


@pytest.mark.parametrize('pair', ['uper', 'fcn'])
def test_heads_with_cp_give_mmseg_losses_and_gradients(pair):
    torch.manual_seed(0)
    if pair == 'uper':
        kw = dict(in_channels=[8] * 4, in_index=[0, 1, 2, 3], channels=8, dropout_ratio=0., num_classes=6,
                  norm_cfg=dict(type='BN'))
        ref, ours = UPerHead(**kw), FastUPerHead(**kw, with_cp=True)
        feats = [torch.randn(2, 8, 8 // 2**i, 8 // 2**i) for i in range(4)]
    else:
        kw = dict(in_channels=8, in_index=0, channels=8, num_convs=1, concat_input=False, dropout_ratio=0.,
                  num_classes=6, norm_cfg=dict(type='BN'),
                  loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4, avg_non_ignore=True))
        ref, ours = FCNHead(**kw), LowMemoryFCNHead(**kw, with_cp=True)
        feats = [torch.randn(2, 8, 4, 4)]
    ours.load_state_dict(ref.state_dict(), strict=True)
    assert ours._low_memory_loss_ok()
    samples = _samples(2, 32, 32, 6)
    results = []
    for head in (ref, ours):
        xs = [f.clone().requires_grad_() for f in feats]
        losses = head.loss(xs, samples, train_cfg={})
        losses['loss_ce'].backward()
        results.append((losses, [x.grad for x in xs] + [p.grad for p in head.parameters()]))
    (l_ref, g_ref), (l_ours, g_ours) = results
    assert set(l_ours) == set(l_ref) == {'loss_ce', 'acc_seg'}
    torch.testing.assert_close(l_ours['loss_ce'], l_ref['loss_ce'], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(l_ours['acc_seg'], l_ref['acc_seg'], rtol=1e-5, atol=1e-4)
    for a, b in zip(g_ours, g_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_falls_back_to_mmseg_for_other_losses():
    head = LowMemoryFCNHead(in_channels=8, channels=8, num_convs=1, num_classes=3, with_cp=True,
                             loss_decode=dict(type='CrossEntropyLoss', class_weight=[1., 2., 1.]))
    assert not head._low_memory_loss_ok()
    plain = LowMemoryFCNHead(in_channels=8, channels=8, num_convs=1, num_classes=3)
    assert not plain._low_memory_loss_ok()  # without with_cp it is mmseg's FCNHead
    # (no ignored pixels: mmseg's class-weighted CE indexes the weights with the ignore label)
    losses = head.loss([torch.randn(1, 8, 4, 4)], _samples(1, 16, 16, 3, ignored_rows=0), train_cfg={})
    assert torch.isfinite(losses['loss_ce'])
