"""VLMo / VL-BEiT vision transfer: ``out_indices`` / ``out_type`` outputs, ``image_only`` and layer-decay depths.

The reference for the outputs is ``beitmm.BEiT`` with the same weights (a BEiT checkpoint is VLMo's stage-1 start:
image-only VLMo equals BEiT once the image token type, which BEiT lacks, is zero).
"""
import pytest
import torch

from beitmm.checkpoint import load_pretrained_backbone
from beitmm.models.backbones import BEiT, VLBEiT, VLMo
from tests.test_checkpoint.test_families.test_vlmo import VOCAB, _randomized_beit

T = 8


@pytest.fixture(scope='module')
def pair():
    """A randomised tiny BEiT and the VLMo it initialises (image token type zeroed)."""
    beit = _randomized_beit()
    model = VLMo(arch='tiny', img_size=32, vocab_size=VOCAB, rel_pos_text_len=T).eval()
    load_pretrained_backbone(model, beit.state_dict())
    with torch.no_grad():
        model.token_type_embeddings.weight.zero_()
    return beit, model


@pytest.mark.parametrize('out_type,shape', [('featmap', (2, 192, 3, 3)), ('avg_featmap', (2, 192)),
                                            ('cls_token', (2, 192)), ('raw', (2, 10, 192))])
def test_image_outputs_equal_beits(pair, out_type, shape):
    beit, model = pair
    for m in pair:
        m.out_indices, m.out_type = [3, 5, 7, 11], out_type
    beit.norm_tokens = out_type in ('raw', 'cls_token')
    img = torch.randn(2, 3, 48, 48)  # 3 x 3 patches: the merged table's image rows resized from 2 x 2 at run time
    with torch.no_grad():
        ours, ref = model(img), beit(img)
    assert len(ours) == 4 and all(o.shape == shape for o in ours)
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_featmap_is_the_blocks_tokens_and_a_repeated_index_repeats():
    model = VLMo(arch=dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64), img_size=32,
                 vocab_size=VOCAB, rel_pos_text_len=T, out_indices=(0, 0, 2), out_type='featmap').eval()
    img = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        feats = model(img)
        model.out_indices, model.out_type = [0], 'raw'
        tokens = model(img)[0]  # block 0, not normalised: [B, 1 + 4, C]
        model.out_indices = [2]
        last = model(image=img)[0]  # the VL tasks' path: the final norm applied
    assert [f.shape for f in feats] == [(2, 32, 2, 2)] * 3 and torch.equal(feats[0], feats[1])
    torch.testing.assert_close(feats[0], tokens[:, 1:].transpose(1, 2).reshape(2, 32, 2, 2))
    # the last block's featmap is not normalised (BEiT's rule): the final norm of it is the raw output
    torch.testing.assert_close(model.transformer.norm(feats[2].flatten(2).transpose(1, 2)), last[:, 1:])


def test_image_only_freezes_what_images_never_reach_and_refuses_text():
    model = VLBEiT(arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64, vlffn_start=1),
                   img_size=32, vocab_size=VOCAB, rel_pos_text_len=T, out_indices=(0, 1), out_type='featmap',
                   image_only=True)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    expected = {n for n, _ in model.named_parameters() if n.startswith('text_embeddings.') or any(
        f'.{m}_{e}.' in n for m in ('mlp', 'norm2') for e in ('text', 'vl')) or n.startswith('transformer.norm.')}
    assert frozen == expected and 'transformer.blocks.1.mlp_vl.fc1.weight' in frozen
    assert all(p.requires_grad for n, p in model.named_parameters() if n not in expected)
    with pytest.raises(ValueError, match='VL tasks need image_only=False'):
        model(image=torch.randn(1, 3, 32, 32), text=torch.ones(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r'out_indices \[12\] out of range for 12 blocks'):
        VLMo(arch='tiny', out_indices=12)
    with pytest.raises(ValueError, match="out_type 'tokens' is not one of"):
        VLMo(arch='tiny', out_type='tokens')


def test_layer_depth_follows_beits_rule():
    model = VLMo(arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64, vlffn_start=1),
                 img_size=32, vocab_size=VOCAB, rel_pos_text_len=T)
    table = {  # written out for 2 blocks: embeddings 0, block k -> k + 1, the rest 3; of 4
        'backbone.transformer.cls_token': 0, 'backbone.transformer.patch_embed.proj.weight': 0,
        'backbone.token_type_embeddings.weight': 0, 'backbone.text_embeddings.word_embeddings.weight': 0,
        'backbone.transformer.blocks.0.attn.qkv.weight': 1, 'backbone.transformer.blocks.0.mlp_imag.fc1.bias': 1,
        'backbone.transformer.blocks.1.gamma_2': 2, 'backbone.transformer.blocks.1.mlp_vl.fc2.weight': 2,
        'backbone.transformer.norm.weight': 3, 'backbone.relative_position_bias_table': 3, 'head.fc.weight': 3}
    assert {n: model.get_layer_depth(n, 'backbone.') for n in table} == {n: (d, 4) for n, d in table.items()}
    beit = BEiT(arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64), img_size=32)
    same = {'backbone.cls_token': 'backbone.transformer.cls_token', 'backbone.blocks.1.gamma_2':
            'backbone.transformer.blocks.1.gamma_2', 'backbone.norm.weight': 'backbone.transformer.norm.weight'}
    for b, v in same.items():
        assert beit.get_layer_depth(b, 'backbone.') == model.get_layer_depth(v, 'backbone.')
