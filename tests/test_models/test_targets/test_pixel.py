"""beitmm.PixelTarget: patch order and per-patch normalisation."""
import pytest
import torch

from beitmm.models.targets import PixelTarget


def test_patch_order_and_values():
    img = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    t = PixelTarget(patch_size=2, norm_pix=False)(img)
    assert t.shape == (2, 6, 12)  # 2x3 patches of 2*2*3 values
    # patch (row 1, col 2) of image 1, pixel (0, 1), channel 2
    assert t[1, 1 * 3 + 2, (0 * 2 + 1) * 3 + 2] == img[1, 2, 2, 5]


def test_per_patch_normalisation():
    img = torch.rand(1, 3, 8, 8) * 5 + 3
    t = PixelTarget(patch_size=4)(img)
    torch.testing.assert_close(t.mean(-1), torch.zeros(1, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(t.var(-1), torch.ones(1, 4), atol=1e-3, rtol=0)


def test_size_error():
    with pytest.raises(ValueError, match='multiple of the patch size'):
        PixelTarget(patch_size=16)(torch.rand(1, 3, 20, 32))
