"""beitmm.VLMo / VLBEiT against an independent transcription of the official VLMo code (microsoft/unilm ``vlmo/``).

The reference: plain torch ops on VLMo's official keys, transcribing ``vlmo/vlmo/modules/multiway_transformer.py``
(``Attention`` / ``Mlp`` / ``Block.forward``, ``visual_embed``), ``vlmo/vlmo/modules/vlmo_module.py``
(``build_relative_position_embed``, ``get_rel_pos_bias``, ``infer*``) and HF ``BertEmbeddings`` ('rel_pos'); no beitmm.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from beitmm.models.backbones import VLBEiT, VLMo
from beitmm.models.backbones.vlmo import vlmo_relative_position_index
from beitmm.pos_embed import vlmo_table_rows

C, DEPTH, HEADS, FFN, VOCAB, T, VLFFN = 32, 3, 2, 64, 50, 8, 2
ARCH = dict(embed_dims=C, num_layers=DEPTH, num_heads=HEADS, feedforward_channels=FFN)


def official_shapes(dim, depth, heads, ffn, vocab, grid, vlffn_start, max_text_len=40, rel_text_len=196):
    """VLMo's state-dict keys and shapes, written from the official code (the creating module in the comments)."""
    rows = (2 * grid[0] - 1) * (2 * grid[1] - 1) + 3 + 2 * rel_text_len + 2  # build_relative_position_embed
    shapes = {
        'transformer.cls_token': (1, 1, dim),  # MultiWayTransformer (pos_embed is None for base / large)
        'transformer.patch_embed.proj.weight': (dim, 3, 16, 16), 'transformer.patch_embed.proj.bias': (dim, ),
        'transformer.norm.weight': (dim, ), 'transformer.norm.bias': (dim, ),
        'relative_position_bias_table': (rows, heads * depth),
        'text_embeddings.word_embeddings.weight': (vocab, dim),  # HF BertEmbeddings
        'text_embeddings.position_embeddings.weight': (max_text_len, dim),
        'text_embeddings.token_type_embeddings.weight': (2, dim),
        'text_embeddings.LayerNorm.weight': (dim, ), 'text_embeddings.LayerNorm.bias': (dim, ),
        'text_embeddings.position_ids': (1, max_text_len),
        'token_type_embeddings.weight': (2, dim),  # VLMo.__init__
    }
    for i in range(depth):  # Block: shared norm1 / attn / layer scale, then the experts (mlp_vl from vlffn_start)
        block = {'norm1.weight': (dim, ), 'norm1.bias': (dim, ), 'attn.qkv.weight': (3 * dim, dim),
                 'attn.q_bias': (dim, ), 'attn.v_bias': (dim, ), 'attn.proj.weight': (dim, dim),
                 'attn.proj.bias': (dim, ), 'gamma_1': (dim, ), 'gamma_2': (dim, )}
        for e in ('text', 'imag') + (('vl', ) if i >= vlffn_start else ()):
            block.update({f'norm2_{e}.weight': (dim, ), f'norm2_{e}.bias': (dim, ), f'mlp_{e}.fc1.bias': (ffn, ),
                          f'mlp_{e}.fc1.weight': (ffn, dim), f'mlp_{e}.fc2.weight': (dim, ffn),
                          f'mlp_{e}.fc2.bias': (dim, )})
        shapes.update({f'transformer.blocks.{i}.{k}': v for k, v in block.items()})
    return shapes


def random_official_weights(grid, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = {k: (1 if 'norm' in k.lower() and k.endswith('weight') else 0) + 0.3 * torch.randn(s, generator=g)
           for k, s in official_shapes(C, DEPTH, HEADS, FFN, VOCAB, grid, VLFFN, T, T).items()}
    out['text_embeddings.position_ids'] = torch.arange(T)[None]
    return out


def ref_build_relative_position_embed(window, max_text_len_of_initckpt, max_text_len):
    # vlmo_module.py VLMo.build_relative_position_embed
    num_relative_distance = (2 * window[0] - 1) * (2 * window[1] - 1) + 3
    all_num_relative_distance = num_relative_distance + 2 * max_text_len_of_initckpt + 2
    coords = torch.stack(torch.meshgrid([torch.arange(window[0]), torch.arange(window[1])], indexing='ij'))
    coords_flatten = torch.flatten(coords, 1)
    relative_coords = (coords_flatten[:, :, None] - coords_flatten[:, None, :]).permute(1, 2, 0).contiguous()
    relative_coords[:, :, 0] += window[0] - 1
    relative_coords[:, :, 1] += window[1] - 1
    relative_coords[:, :, 0] *= 2 * window[1] - 1
    relative_position_index = torch.zeros(size=(window[0] * window[1] + 1, ) * 2, dtype=relative_coords.dtype)
    relative_position_index[1:, 1:] = relative_coords.sum(-1)
    relative_position_index[0, 0:] = num_relative_distance - 3
    relative_position_index[0:, 0] = num_relative_distance - 2
    relative_position_index[0, 0] = num_relative_distance - 1
    text_position_ids = torch.arange(max_text_len - 1)
    text_rel_pos_mat = text_position_ids.unsqueeze(-2) - text_position_ids.unsqueeze(-1)
    min_distance = int(2 - max_text_len_of_initckpt)
    text_rel_pos_mat = text_rel_pos_mat - min_distance
    text_rel_pos_mat += (num_relative_distance + 2)
    text_relative_position_index = torch.zeros(size=(max_text_len, ) * 2, dtype=relative_coords.dtype)
    text_relative_position_index[1:, 1:] = text_rel_pos_mat
    text_relative_position_index[0, 0:] = all_num_relative_distance - 3
    text_relative_position_index[0:, 0] = all_num_relative_distance - 2
    text_relative_position_index[0, 0] = all_num_relative_distance - 1
    max_imag_len = window[0] * window[1] + 1
    text2imag = torch.ones(max_text_len, max_imag_len) * num_relative_distance
    imag2text = torch.ones(max_imag_len, max_text_len) * (num_relative_distance + 1)
    text_row = torch.cat((text_relative_position_index, text2imag), 1)
    imag_row = torch.cat((imag2text, relative_position_index), 1)
    return relative_position_index, text_relative_position_index, torch.cat((text_row, imag_row), 0)


def ref_get_rel_pos_bias(p, index):  # vlmo_module.py VLMo.get_rel_pos_bias
    bias = F.embedding(index.long(), p['relative_position_bias_table']).permute(2, 0, 1).contiguous()
    return torch.chunk(bias, DEPTH, dim=0)


def _ln(p, name, x, eps=1e-6):
    return F.layer_norm(x, (x.shape[-1], ), p[name + '.weight'], p[name + '.bias'], eps)


def _mlp(p, name, x):  # multiway_transformer.py Mlp
    return F.linear(F.gelu(F.linear(x, p[name + '.fc1.weight'], p[name + '.fc1.bias'])), p[name + '.fc2.weight'],
                    p[name + '.fc2.bias'])


def ref_attention(p, pre, x, mask, relative_position_bias):  # multiway_transformer.py Attention.forward
    B, N, _ = x.shape
    qkv_bias = torch.cat((p[pre + 'q_bias'], torch.zeros_like(p[pre + 'v_bias']), p[pre + 'v_bias']))
    qkv = F.linear(x, p[pre + 'qkv.weight'], qkv_bias).reshape(B, N, 3, HEADS, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    q = q * (C // HEADS)**-0.5
    attn = q.float() @ k.float().transpose(-2, -1)
    attn = attn + relative_position_bias.unsqueeze(0)
    attn = attn.masked_fill(~mask.bool()[:, None, None, :], float('-inf'))
    attn = attn.softmax(dim=-1).type_as(x)
    x = (attn @ v).transpose(1, 2).reshape(B, N, -1)
    return F.linear(x, p[pre + 'proj.weight'], p[pre + 'proj.bias'])


def ref_block(p, i, x, mask, modality_type, relative_position_bias, max_text_len):  # Block.forward
    b = f'transformer.blocks.{i}.'
    x = x + p[b + 'gamma_1'] * ref_attention(p, b + 'attn.', _ln(p, b + 'norm1', x), mask, relative_position_bias)
    g2 = p[b + 'gamma_2']
    if modality_type == 'image':
        return x + g2 * _mlp(p, b + 'mlp_imag', _ln(p, b + 'norm2_imag', x))
    if modality_type == 'text':
        return x + g2 * _mlp(p, b + 'mlp_text', _ln(p, b + 'norm2_text', x))
    if b + 'mlp_vl.fc1.weight' not in p:
        x_text, x_imag = x[:, :max_text_len], x[:, max_text_len:]
        x_text = x_text + g2 * _mlp(p, b + 'mlp_text', _ln(p, b + 'norm2_text', x_text))
        x_imag = x_imag + g2 * _mlp(p, b + 'mlp_imag', _ln(p, b + 'norm2_imag', x_imag))
        return torch.cat([x_text, x_imag], dim=1)
    return x + g2 * _mlp(p, b + 'mlp_vl', _ln(p, b + 'norm2_vl', x))


def ref_text_embeds(p, ids):  # HF BertEmbeddings.forward ('rel_pos': no absolute position) + VLMo's token type 0
    e = p['text_embeddings.word_embeddings.weight'][ids] + p['text_embeddings.token_type_embeddings.weight'][0]
    e = _ln(p, 'text_embeddings.LayerNorm', e, eps=1e-12)
    return e + F.embedding(torch.zeros_like(ids), p['token_type_embeddings.weight'])


def ref_image_embeds(p, img):  # MultiWayTransformer.visual_embed + token type 1
    x = F.conv2d(img, p['transformer.patch_embed.proj.weight'], p['transformer.patch_embed.proj.bias'], stride=16)
    x = torch.cat((p['transformer.cls_token'].expand(x.shape[0], -1, -1), x.flatten(2).transpose(1, 2)), dim=1)
    masks = torch.ones(x.shape[0], x.shape[1], dtype=torch.long)
    return x + F.embedding(torch.full_like(masks, 1), p['token_type_embeddings.weight']), masks


def ref_infer(p, window, image=None, text_ids=None, text_masks=None):
    """``infer`` (both), ``infer_text`` / ``infer_image`` (one modality: also the VL-FFN branch)."""
    L = 0 if text_ids is None else text_ids.shape[1]
    image_index, text_index, text_imag_index = ref_build_relative_position_embed(window, T, max(L, 2))
    if image is not None and text_ids is not None:
        image_embeds, image_masks = ref_image_embeds(p, image)
        x, masks = torch.cat([ref_text_embeds(p, text_ids), image_embeds], 1), torch.cat([text_masks, image_masks], 1)
        biases, mode = ref_get_rel_pos_bias(p, text_imag_index), 'vl'
    elif image is not None:
        (x, masks), biases, mode = ref_image_embeds(p, image), ref_get_rel_pos_bias(p, image_index), 'image'
    else:
        x, masks, biases, mode = ref_text_embeds(p, text_ids), text_masks, ref_get_rel_pos_bias(p, text_index), 'text'
    hidden = [x := ref_block(p, i, x, masks, mode, biases[i], L) for i in range(DEPTH)]  # all_hidden_states
    out = _ln(p, 'transformer.norm', x)
    if mode == 'vl':
        return out, None
    vl = hidden[VLFFN - 1]  # vlffn_hiddens
    for i in range(VLFFN, DEPTH):
        vl = ref_block(p, i, vl, masks, 'vl', biases[i], L)
    return out, _ln(p, 'transformer.norm', vl)


def _inputs(img_size=(32, 32)):
    g = torch.Generator().manual_seed(1)
    img, txt = torch.randn(2, 3, *img_size, generator=g), torch.randint(1, VOCAB, (2, 6), generator=g)
    return img, txt, torch.tensor([[False] * 6, [False] * 4 + [True] * 2])


@pytest.mark.parametrize('img_size', [(32, 32), (48, 48), (32, 48)])
@pytest.mark.parametrize('inputs', ['image', 'text', 'image+text'])
def test_equals_official_transcription(img_size, inputs):
    grid = (img_size[0] // 16, img_size[1] // 16)
    weights = random_official_weights(grid)
    ours = VLMo(arch=ARCH, img_size=img_size, vocab_size=VOCAB, max_text_len=T, rel_pos_text_len=T,
                vlffn_start=VLFFN).eval()
    ours.load_state_dict(weights, strict=True)  # the official names load by copy
    img, txt, pad = _inputs(img_size)
    kw = dict(image=img) if 'image' in inputs else {}
    ref_kw = dict(kw, **(dict(text_ids=txt, text_masks=(~pad).long()) if 'text' in inputs else {}))
    kw.update(dict(text=txt, text_padding_mask=pad) if 'text' in inputs else {})
    with torch.no_grad():
        expected, expected_vl = ref_infer(weights, grid, **ref_kw)
        torch.testing.assert_close(ours(**kw)[-1], expected, rtol=0, atol=1e-5)
        if expected_vl is not None:  # infer_image / infer_text's VL-FFN branch
            torch.testing.assert_close(ours(**kw, vl_branch=True)[0], expected_vl, rtol=0, atol=1e-5)


def test_index_matches_official_layout():
    image, text, both = ref_build_relative_position_embed((14, 14), 196, 40)
    assert vlmo_table_rows((14, 14), 196) == 1126  # 732 + 2 + 392
    assert torch.equal(vlmo_relative_position_index(0, (14, 14), (14, 14), 196), image)
    assert torch.equal(vlmo_relative_position_index(40, None, (14, 14), 196), text)
    assert torch.equal(vlmo_relative_position_index(40, (14, 14), (14, 14), 196), both.long())
    assert int(both.max()) == 1125 and int(text[1:, 1:].min()) == 734 + 194 - 38


@pytest.mark.parametrize('arch,depth,vlffn', [('base', 12, 10), ('large', 24, 21)])
def test_official_key_layout_and_parameter_counts(arch, depth, vlffn):
    with torch.device('meta'):
        model = VLMo(arch=arch)
    dims = dict(base=(768, 12, 3072), large=(1024, 16, 4096))[arch]
    official = official_shapes(dims[0], depth, dims[1], dims[2], 30522, (14, 14), vlffn)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == official
    backbone = sum(p.numel() for p in model.transformer.parameters())
    total = sum(p.numel() for p in model.parameters())
    assert backbone == sum(math.prod(s) for k, s in official.items() if k.startswith('transformer.'))
    assert round(backbone / 1e6, 1) == dict(base=151.8, large=529.8)[arch]  # vlmo/README.md
    assert round(total / 1e6) == dict(base=175, large=562)[arch]


def _tiny(**kw):
    torch.manual_seed(0)
    model = VLMo(arch=ARCH, img_size=32, vocab_size=VOCAB, rel_pos_text_len=T, vlffn_start=VLFFN, **kw)
    model.init_weights()
    with torch.no_grad():  # make the table matter
        model.relative_position_bias_table.normal_(std=0.5)
    return model


def test_tiny_preset_forward_backward():
    model = VLMo(arch='tiny', img_size=32, vocab_size=VOCAB)
    assert (model.embed_dims, model.num_layers, model.num_heads, model.vlffn_start) == (192, 12, 3, 10)
    out = model(**dict(zip(('image', 'text', 'text_padding_mask'), _inputs(), strict=True)))[-1]
    assert out.shape == (2, 6 + 5, 192) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert model.transformer.blocks[11].mlp_vl.fc1.weight.grad is not None


def test_with_cp_gives_equal_gradients():
    img, txt, pad = _inputs()
    grads = []
    for with_cp in (False, True):
        model = _tiny(with_cp=with_cp).train()
        model(image=img, text=txt, text_padding_mask=pad)[-1].square().sum().backward()
        model(image=img, vl_branch=True)[0].sum().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-6)


def test_text_padding_does_not_leak():
    model = _tiny().eval()
    img, txt, pad = _inputs()
    with torch.no_grad():  # change only the padded tokens
        a, b = (model(image=img, text=t, text_padding_mask=pad)[-1] for t in (txt, txt.masked_fill(pad, 3)))
    keep = torch.cat([~pad, torch.ones(2, 5, dtype=torch.bool)], 1)
    torch.testing.assert_close(a[keep], b[keep])


def test_layer_depth():
    model = _tiny()
    expected = {'transformer.cls_token': 0, 'text_embeddings.word_embeddings.weight': 0,
                'token_type_embeddings.weight': 0, 'transformer.patch_embed.proj.weight': 0,
                'transformer.blocks.2.mlp_vl.fc1.weight': 3, 'transformer.norm.weight': DEPTH + 1,
                'relative_position_bias_table': DEPTH + 1}
    assert {n: model.get_layer_depth('backbone.' + n, 'backbone.') for n in expected} == {
        n: (d, DEPTH + 2) for n, d in expected.items()}
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (DEPTH + 1, DEPTH + 2)


def test_vlbeit_defaults_and_masked_image_input():
    with torch.device('meta'):
        base = VLBEiT()
    assert (base.embed_dims, base.num_layers, base.vlffn_start, base.grid) == (768, 12, 10, (14, 14))
    assert 'transformer.mask_token' in base.state_dict()  # the VL-BEiT choices
    model = VLBEiT(arch=ARCH, img_size=32, vocab_size=VOCAB, rel_pos_text_len=T, vlffn_start=VLFFN)
    model.init_weights()
    img, txt, pad = _inputs()
    mask = torch.tensor([[True, False, False, True], [False] * 4])
    with torch.no_grad():
        masked, plain = (model(image=img, text=txt, text_padding_mask=pad, image_mask=m)[-1] for m in (mask, None))
    assert not torch.allclose(masked[0], plain[0]) and torch.allclose(masked[1], plain[1], atol=1e-6)


@pytest.mark.parametrize('kwargs,match', [
    (dict(), 'needs an image, a text or both'),
    (dict(text=torch.zeros(1, T + 1, dtype=torch.long)), 'rel_pos_text_len'),
    (dict(text=torch.full((1, 3), VOCAB)), 'vocab_size'),
    (dict(text=torch.zeros(1, 3, dtype=torch.long), text_padding_mask=torch.ones(1, 3)), 'text_padding_mask'),
    (dict(image=torch.zeros(1, 3, 32, 32), text_padding_mask=torch.zeros(1, 3, dtype=torch.bool)), 'like the text'),
    (dict(image=torch.zeros(1, 3, 32, 32), image_mask=torch.zeros(1, 4, dtype=torch.bool)), 'use_mask_token'),
    (dict(image=torch.zeros(1, 3, 32, 32), image_token_type=2), 'num_token_types'),
    (dict(image=torch.zeros(1, 3, 32, 32), text=torch.zeros(1, 3, dtype=torch.long), vl_branch=True), 'vl_branch'),
])
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _tiny()(**kwargs)


@pytest.mark.parametrize('kwargs,match', [(dict(arch='huge'), 'one of'), (dict(vlffn_start=DEPTH + 1), 'vlffn_start'),
                                          (dict(arch=dict(embed_dims=32, num_layers=2)), 'feedforward_channels')])
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VLMo(**{'arch': ARCH, **kwargs})
