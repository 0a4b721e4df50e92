"""CLIPViT: OpenAI layout, strict loading, forward equal to a plain re-computation."""
import pytest
import torch
import torch.nn.functional as F

from beitmm.models.teachers import CLIPViT
from beitmm.registry import MODELS

from .teacher_fakes import TINY_CLIP, openai_clip_state


def reference_forward(sd: dict, img: torch.Tensor, heads: int = 2, patch: int = 16,
                      layer: str = 'proj') -> torch.Tensor:
    """CLIP visual tower written out with matrix products from the raw OpenAI state dict.

    ``layer``: 'proj' (ln_post then proj), 'ln_post', or 'block' (the last block's raw output).
    """
    v = {k[len('visual.'):]: t for k, t in sd.items() if k.startswith('visual.')}
    C = v['class_embedding'].numel()
    x = F.conv2d(img, v['conv1.weight'], stride=patch).flatten(2).transpose(1, 2)  # [B, N, C]
    x = torch.cat([v['class_embedding'].expand(img.shape[0], 1, C), x], 1) + v['positional_embedding']
    ln = lambda t, n: F.layer_norm(t, (C, ), v[n + '.weight'], v[n + '.bias'])  # noqa: E731
    x = ln(x, 'ln_pre')
    i = 0
    while f'transformer.resblocks.{i}.ln_1.weight' in v:
        p = f'transformer.resblocks.{i}.'
        q, k, val = (ln(x, p + 'ln_1') @ v[p + 'attn.in_proj_weight'].T + v[p + 'attn.in_proj_bias']).chunk(3, -1)
        q, k, val = (t.reshape(*t.shape[:2], heads, -1).transpose(1, 2) for t in (q, k, val))
        a = ((q @ k.transpose(-2, -1)) / (C // heads)**0.5).softmax(-1) @ val  # [B, h, L, C/h]
        x = x + a.transpose(1, 2).reshape(x.shape) @ v[p + 'attn.out_proj.weight'].T + v[p + 'attn.out_proj.bias']
        h = ln(x, p + 'ln_2') @ v[p + 'mlp.c_fc.weight'].T + v[p + 'mlp.c_fc.bias']
        x = x + (h * torch.sigmoid(1.702 * h)) @ v[p + 'mlp.c_proj.weight'].T + v[p + 'mlp.c_proj.bias']
        i += 1
    if layer == 'block':
        return x[:, 1:]
    x = ln(x, 'ln_post')
    return (x @ v['proj'] if layer == 'proj' else x)[:, 1:]


def test_full_clip_state_dict_loads_with_zero_missing_keys(tmp_path):
    sd = openai_clip_state()
    torch.save(sd, tmp_path / 'clip.pth')
    model = CLIPViT(arch=TINY_CLIP, img_size=32, checkpoint=str(tmp_path / 'clip.pth'))
    own = model.state_dict()
    assert set(own) == {k[len('visual.'):] for k in sd if k.startswith('visual.')}
    for k, t in own.items():
        torch.testing.assert_close(t, sd['visual.' + k])
    assert model.load_checkpoint(sd) == []  # text tower and scalars ignored, nothing visual left over
    extra = dict(sd, **{'visual.attnpool.weight': torch.zeros(2)})
    assert model.load_checkpoint(extra) == ['attnpool.weight']


def test_forward_equals_reference_computation():
    sd = openai_clip_state()
    model = CLIPViT(arch=TINY_CLIP, img_size=32, checkpoint=sd)
    img = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = model(img)
    assert out.shape == (2, 4, TINY_CLIP['output_dims']) and model.out_channels == 24
    torch.testing.assert_close(out, reference_forward(sd, img), rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        with_cls = CLIPViT(arch=TINY_CLIP, img_size=32, checkpoint=sd, with_cls=True)(img)
        no_proj = CLIPViT(arch=TINY_CLIP, img_size=32, checkpoint=sd, with_proj=False)(img)
    torch.testing.assert_close(with_cls[:, 1:], out)
    assert no_proj.shape == (2, 4, TINY_CLIP['embed_dims'])


def test_position_embedding_resized_at_load_and_on_the_fly():
    sd = openai_clip_state(grid=3)  # a checkpoint for 48 px (3x3 grid), like ViT-L/14@336 into a 224 model
    model = CLIPViT(arch=TINY_CLIP, img_size=32, checkpoint=sd)
    assert model.positional_embedding.shape == (5, 32)
    torch.testing.assert_close(model.positional_embedding[0], sd['visual.positional_embedding'][0])  # cls kept
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 48))  # 4x3 grid at run time
    assert out.shape == (1, 12, 24) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match='multiple of the patch size'):
        model(torch.randn(1, 3, 40, 32))


def test_frozen_and_built_from_registry():
    model = MODELS.build(dict(type='beitmm.CLIPViT', arch=TINY_CLIP, img_size=32))
    assert not any(p.requires_grad for p in model.parameters())
    model.train()
    assert not model.training


def test_wrong_architecture_names_the_missing_keys():
    sd = openai_clip_state(layers=1)
    with pytest.raises(RuntimeError, match=r'missing key\(s\).*transformer\.resblocks\.1'):
        CLIPViT(arch=TINY_CLIP, img_size=32, checkpoint=sd)
    with pytest.raises(KeyError, match='conv1.weight'):
        CLIPViT(arch=TINY_CLIP, img_size=32, checkpoint={'foo': torch.zeros(1)})


@pytest.mark.parametrize('kwargs,layer,dims', [(dict(), 'proj', 24), (dict(with_proj=False), 'ln_post', 32),
                                               (dict(with_proj=False, with_ln_post=False), 'block', 32)])
def test_teacher_layer_choices(kwargs, layer, dims):
    """MaskDistill's teacher layer (a config choice): after ln_post + proj, after ln_post, or before ln_post."""
    sd = openai_clip_state()
    model = CLIPViT(arch=TINY_CLIP, img_size=32, checkpoint=sd, **kwargs)
    img = torch.randn(2, 3, 32, 32)
    out = model(img)
    assert out.shape == (2, 4, dims) and model.out_channels == dims
    torch.testing.assert_close(out, reference_forward(sd, img, layer=layer), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match='with_proj=True needs with_ln_post=True'):
        CLIPViT(arch=TINY_CLIP, img_size=32, with_ln_post=False)
