"""DINOViT: official layout (plain and full checkpoints), strict loading, forward."""
import pytest
import torch
import torch.nn.functional as F

from beitmm.models.teachers import DINOViT

from .teacher_fakes import TINY_DINO, official_dino_state


def reference_forward(s: dict, img: torch.Tensor, heads: int = 2) -> torch.Tensor:
    C = s['cls_token'].shape[-1]
    x = F.conv2d(img, s['patch_embed.proj.weight'], s['patch_embed.proj.bias'], stride=16).flatten(2).transpose(1, 2)
    x = torch.cat([s['cls_token'].expand(img.shape[0], -1, -1), x], 1) + s['pos_embed']
    ln = lambda t, n: F.layer_norm(t, (C, ), s[n + '.weight'], s[n + '.bias'], eps=1e-6)  # noqa: E731
    for i in range(2):
        p = f'blocks.{i}.'
        q, k, v = (ln(x, p + 'norm1') @ s[p + 'attn.qkv.weight'].T + s[p + 'attn.qkv.bias']).chunk(3, -1)
        q, k, v = (t.reshape(*t.shape[:2], heads, -1).transpose(1, 2) for t in (q, k, v))
        a = ((q @ k.transpose(-2, -1)) / (C // heads)**0.5).softmax(-1) @ v
        x = x + a.transpose(1, 2).reshape(x.shape) @ s[p + 'attn.proj.weight'].T + s[p + 'attn.proj.bias']
        h = F.gelu(ln(x, p + 'norm2') @ s[p + 'mlp.fc1.weight'].T + s[p + 'mlp.fc1.bias'])
        x = x + h @ s[p + 'mlp.fc2.weight'].T + s[p + 'mlp.fc2.bias']
    return ln(x, 'norm')[:, 1:]


def test_official_layout_loads_with_zero_missing_keys(tmp_path):
    sd = official_dino_state()
    torch.save(sd, tmp_path / 'dino_vittiny16_pretrain.pth')
    model = DINOViT(arch=TINY_DINO, img_size=32, checkpoint=str(tmp_path / 'dino_vittiny16_pretrain.pth'))
    assert set(model.state_dict()) == set(sd)
    img = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = model(img)
    assert out.shape == (2, 4, 32) and model.out_channels == 32
    torch.testing.assert_close(out, reference_forward(sd, img), rtol=1e-4, atol=1e-4)


def test_full_training_checkpoint_uses_the_teacher(tmp_path):
    sd = official_dino_state(seed=1)
    teacher = {'backbone.' + k: v for k, v in sd.items()}
    teacher.update({'head.mlp.0.weight': torch.zeros(8, 32), 'head.last_layer.weight_g': torch.ones(10, 1)})
    student = {'module.backbone.' + k: torch.zeros_like(v) for k, v in sd.items()}
    torch.save({'student': student, 'teacher': teacher, 'epoch': 100}, tmp_path / 'full.pth')
    model = DINOViT(arch=TINY_DINO, img_size=32, checkpoint=str(tmp_path / 'full.pth'))
    torch.testing.assert_close(model.blocks[1].mlp.fc2.weight, sd['blocks.1.mlp.fc2.weight'])


def test_grid_resize_and_frozen():
    model = DINOViT(arch=TINY_DINO, img_size=32, checkpoint=official_dino_state(grid=3))
    assert model.pos_embed.shape == (1, 5, 32)
    with torch.no_grad():
        assert model(torch.randn(1, 3, 48, 64)).shape == (1, 12, 32)
    assert not any(p.requires_grad for p in model.parameters())
    with pytest.raises(RuntimeError, match='missing key'):
        DINOViT(arch=dict(TINY_DINO, num_layers=3), img_size=32, checkpoint=official_dino_state())
