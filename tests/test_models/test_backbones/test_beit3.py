"""beitmm.BEiT3 against the official implementations: torchscale's BEiT3 (all modalities) and timm's vision branch.

torchscale 0.3.0 is the official BEiT-3 backbone (microsoft/unilm ``beit3/`` builds on it); its state dict loads
into beitmm.BEiT3 by copy, and the outputs must agree.
"""
import io
import logging

import pytest
import timm
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from torchscale.architecture.config import EncoderConfig
from torchscale.model.BEiT3 import BEiT3 as TorchscaleBEiT3

from beitmm.checkpoint import load_pretrained_backbone
from beitmm.models.backbones import BEiT3
from beitmm.models.backbones.beit3_arch import count_parameters, expert_parameters

D, L, H, FFN, VOCAB = 32, 2, 2, 64, 100
ARCH = dict(embed_dims=D, num_layers=L, num_heads=H, feedforward_channels=FFN)


def _randomize(module: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)


@pytest.fixture(scope='module')
def pair():
    args = EncoderConfig(img_size=32, patch_size=16, vocab_size=VOCAB, multiway=True, layernorm_embedding=False,
                         normalize_output=True, no_output_layer=True, encoder_embed_dim=D, encoder_attention_heads=H,
                         encoder_ffn_embed_dim=FFN, encoder_layers=L)
    ref = TorchscaleBEiT3(args).eval()
    _randomize(ref)
    ours = BEiT3(arch=ARCH, img_size=32, vocab_size=VOCAB).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)  # torchscale's names, loaded by copy
    return ref, ours


def _inputs():
    g = torch.Generator().manual_seed(1)
    img = torch.randn(2, 3, 32, 32, generator=g)
    txt = torch.randint(0, VOCAB, (2, 6), generator=g)
    pad = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    return img, txt, pad


@pytest.mark.parametrize('inputs', ['image', 'text', 'image+text'])
def test_equals_torchscale(pair, inputs):
    ref, ours = pair
    img, txt, pad = _inputs()
    kw, ref_kw = {}, {}
    if 'image' in inputs:
        kw['image'], ref_kw['visual_tokens'] = img, img
    if 'text' in inputs:
        kw.update(text=txt, text_padding_mask=pad)
        ref_kw.update(textual_tokens=txt, text_padding_position=pad)
    with torch.no_grad():
        expected = ref(**ref_kw)['encoder_out']
        got = ours(**kw)[-1]
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_masked_image_equals_torchscale(pair):
    ref, _ = pair
    ours = BEiT3(arch=ARCH, img_size=32, vocab_size=VOCAB, use_mask_token=True).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    img, txt, pad = _inputs()
    masked = torch.tensor([[True, False, False, True], [False, False, False, False]])  # [B, Hp * Wp]
    with torch.no_grad():
        expected = ref(textual_tokens=txt, visual_tokens=img, text_padding_position=pad,
                       vision_masked_position=masked)['encoder_out']
        got = ours(image=img, text=txt, text_padding_mask=pad, image_mask=masked)[-1]
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    ours.requires_grad_(False)  # a frozen backbone built with use_mask_token=True still masks
    with torch.no_grad():
        torch.testing.assert_close(ours(image=img, text=txt, text_padding_mask=pad, image_mask=masked)[-1], expected,
                                   rtol=1e-5, atol=1e-5)
    assert not pair[1].vision_embed.mask_token.requires_grad  # frozen (DDP-safe) unless asked for
    with pytest.raises(ValueError, match='use_mask_token=True'):
        pair[1](image=img, image_mask=masked)


def test_intermediate_layers_equal_torchscale(pair):
    ref, _ = pair
    ours = BEiT3(arch=ARCH, img_size=32, vocab_size=VOCAB, out_indices=(0, 1)).eval()
    ours.load_state_dict(ref.state_dict())
    img, txt, pad = _inputs()
    with torch.no_grad():
        states = ref(visual_tokens=img, textual_tokens=txt, text_padding_position=pad)
        ts = ref.encoder(src_tokens=None, token_embeddings=torch.cat([ref.vision_embed(img), ref.text_embed(txt)], 1),
                         encoder_padding_mask=torch.cat([torch.zeros(2, 5, dtype=torch.bool), pad], 1),
                         multiway_split_position=5, return_all_hiddens=True)['encoder_states']
        first, last = ours(image=img, text=txt, text_padding_mask=pad)
    torch.testing.assert_close(first, ts[1], rtol=1e-5, atol=1e-5)  # after layer 0, no final norm
    torch.testing.assert_close(last, states['encoder_out'], rtol=1e-5, atol=1e-5)


def test_routing_is_an_argument_not_module_state(pair):
    _, ours = pair
    img, txt, pad = _inputs()
    with torch.no_grad():
        text_first = ours(text=txt, text_padding_mask=pad)[-1]
        ours(image=img)
        both = ours(image=img, text=txt, text_padding_mask=pad)[-1]
        assert torch.equal(ours(text=txt, text_padding_mask=pad)[-1], text_first)  # no state left by other calls
    assert both.shape == (2, 5 + 6, D)
    assert not any(hasattr(m, 'split_position') for m in ours.modules())


def test_vision_branch_equals_timm():
    ref = timm.create_model('beit3_base_patch16_224', pretrained=False, embed_dim=D, depth=L, num_heads=H,
                            mlp_ratio=FFN / D, img_size=32, num_classes=3).eval()
    _randomize(ref, 2)
    ours = BEiT3(arch=ARCH, img_size=32, modalities=('vision', ), out_type='avg_featmap').eval()
    report = load_pretrained_backbone(ours, ref.state_dict())
    assert report.source_format == 'timm' and not report.unexpected
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(image=x)[-1], ref.forward_head(ref.forward_features(x), pre_logits=True),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('arch,img,expected', [('base', 224, 222.2), ('large', 384, 675.2)])
def test_parameter_counts_equal_the_official_readme(arch, img, expected):
    """``beit3_{base_patch16_224,large_patch16_384}_retrieval``: backbone + vision / language heads + logit scale."""
    with torch.device('meta'):
        model = BEiT3(arch=arch, img_size=img)
    width = model.embed_dims
    total = count_parameters(model) + 2 * width * width + 1
    assert round(total / 1e6, 1) == expected
    if arch == 'base':  # unilm beit3 builders: vision expert 85.3M, language expert 85.9M, text embed 49.2M
        experts = expert_parameters(model)
        assert (round(experts['A'] / 1e6, 1), round(experts['B'] / 1e6, 1)) == (85.3, 85.9)
        assert round(model.text_embed.weight.numel() / 1e6, 1) == 49.2


def test_giant_preset():
    with torch.device('meta'):
        model = BEiT3(arch='giant', img_size=224)
    assert (model.embed_dims, model.num_layers, model.patch_size, model.grid, model.layout) == \
        (1408, 40, 14, (16, 16), 'paper')
    assert sum(getattr(layer, 'with_vl', False) for layer in model.encoder.layers) == 3  # VL expert in the top 3
    heads = 1408 * 64010 + 1408 * 8192  # MLM (text) and MIM (VQ-KD codes) heads of the pretraining model
    assert round((count_parameters(model) + heads) / 1e9, 1) == 1.9  # the paper's 1.9B
    with torch.device('meta'):
        released = BEiT3(arch='giant', img_size=224, layout='released')
    assert round(count_parameters(released) / 1e9, 2) == 2.11


def test_unilm_checkpoint_loads_and_positions_resize(pair, tmp_path):
    ref, _ = pair
    ckpt = {'model': {'beit3.' + k: v for k, v in ref.state_dict().items()}}
    ckpt['model'].update({'vision_head.weight': torch.randn(D, D), 'logit_scale': torch.tensor(2.0)})
    path = tmp_path / 'beit3_retrieval.pth'
    torch.save(ckpt, path)
    ours = BEiT3(arch=ARCH, img_size=64, vocab_size=VOCAB, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    ours.init_weights()
    table = ref.state_dict()['encoder.embed_positions.A.weight']  # [2 + 1 + 4, D]
    new = ours.encoder.embed_positions.A.weight.detach()  # [2 + 1 + 16, D]
    torch.testing.assert_close(new[:3], table[:3])  # the 2 offset rows and the cls row kept
    grid = table[3:].reshape(1, 2, 2, D).permute(0, 3, 1, 2)
    expected = F.interpolate(grid, size=(4, 4), mode='bicubic', align_corners=False).flatten(2).transpose(1, 2)[0]
    torch.testing.assert_close(new[3:], expected)
    torch.testing.assert_close(ours.encoder.layers[1].ffn.B.fc2.weight.detach(),
                               ref.state_dict()['encoder.layers.1.ffn.B.fc2.weight'])


def test_vision_only_model_drops_the_language_branch_with_a_reason(pair):
    ref, _ = pair
    ours = BEiT3(arch=ARCH, img_size=32, modalities=('vision', ), out_type='featmap', out_indices=(0, 1))
    report = load_pretrained_backbone(ours, {'module': ref.state_dict()})
    dropped = dict(report.dropped)
    assert "modalities=('vision',)" in dropped['text_embed.weight']
    assert "modalities=('vision',)" in dropped['encoder.layers.0.ffn.B.fc1.weight']
    feats = ours(image=torch.randn(1, 3, 32, 32))
    assert [f.shape for f in feats] == [(1, D, 2, 2)] * 2


def test_wrong_family_checkpoint_names_the_fix():
    from beitmm.models.backbones import BEiT
    beit = BEiT(arch=ARCH, img_size=32).state_dict()
    with pytest.raises(ValueError, match='not a BEiT-3 checkpoint.*build a beitmm.BEiT'):
        load_pretrained_backbone(BEiT3(arch=ARCH, img_size=32), beit)
    from beitmm.models.backbones import VLMo
    vlmo = VLMo(arch=dict(ARCH, vlffn_start=1), img_size=32).state_dict()  # VLMo's official key names
    with pytest.raises(ValueError, match='not a BEiT-3 checkpoint.*load it into beitmm.VLMo'):
        load_pretrained_backbone(BEiT3(arch=ARCH, img_size=32), vlmo)


def test_bad_text_inputs(pair):
    _, ours = pair
    with pytest.raises(ValueError, match=r'token ids \[100\] are outside the text embedding of 100 rows'):
        ours(text=torch.tensor([[0, 100]]))
    with pytest.raises(ValueError, match='empty text'):
        ours(text=torch.zeros(1, 0, dtype=torch.long))
    short = BEiT3(arch=ARCH, img_size=32, vocab_size=VOCAB, max_text_positions=6).eval()  # 4 text positions
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    MMLogger.get_current_instance().addHandler(handler)
    try:
        out = short(text=torch.randint(0, VOCAB, (2, 7)))[-1]
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    assert out.shape == (2, 4, D) and '2 text(s) of 7 tokens truncated to the 4 text positions' in stream.getvalue()
    strict = BEiT3(arch=ARCH, img_size=32, vocab_size=VOCAB, max_text_positions=6, text_overflow='error')
    with pytest.raises(ValueError, match='exceed the 4 text positions'):
        strict(text=torch.randint(0, VOCAB, (1, 5)))


def test_image_not_a_multiple_of_the_patch_is_padded(pair):
    _, ours = pair
    img = torch.randn(1, 3, 30, 27)
    with torch.no_grad():
        padded = ours(image=F.pad(img, (0, 5, 0, 2)))[-1]
        torch.testing.assert_close(ours(image=img)[-1], padded)


def test_layer_depth_and_activation_checkpointing():
    torch.manual_seed(0)
    a = BEiT3(arch=ARCH, img_size=32, vocab_size=VOCAB)
    b = BEiT3(arch=ARCH, img_size=32, vocab_size=VOCAB, with_cp=True)
    b.load_state_dict(a.state_dict())
    assert a.get_layer_depth('backbone.encoder.embed_positions.A.weight', 'backbone.') == (0, 4)
    assert a.get_layer_depth('backbone.vision_embed.cls_token', 'backbone.') == (0, 4)
    assert a.get_layer_depth('backbone.encoder.layers.1.ffn.A.fc1.weight', 'backbone.') == (2, 4)
    assert a.get_layer_depth('backbone.encoder.layer_norm.A.weight', 'backbone.') == (3, 4)
    img, txt, pad = _inputs()
    grads = []
    for m in (a, b):
        m.train()
        m(image=img, text=txt, text_padding_mask=pad)[-1].sum().backward()
        grads.append([p.grad.clone() for p in m.parameters() if p.grad is not None])
    assert len(grads[0]) == len(grads[1]) and all(torch.allclose(u, v, atol=1e-5) for u, v in
                                                  zip(grads[0], grads[1], strict=True))


def test_initialisation_is_unilms():
    torch.manual_seed(0)
    m = BEiT3(arch=dict(ARCH, embed_dims=64), img_size=32, vocab_size=VOCAB)
    m.init_weights()
    w = m.encoder.layers[0].ffn.A.fc1.weight.detach()
    assert float(w.abs().max()) <= 0.02 + 1e-7  # trunc_normal_(std=.02, a=-std, b=std) of BEiT3Wrapper
    assert float(m.text_embed.weight.std()) == pytest.approx(64 ** -0.5, rel=0.05)
    assert torch.count_nonzero(m.vision_embed.cls_token) == 0
