"""CIM algorithm: sampling, replacement, RevDet labels, gradient separation, checkpoints."""
import pytest
import torch
from mmengine.structures import BaseDataElement

from beitmm.models.algorithms import sample_tokens
from beitmm.models.algorithms.cim import replace_masked
from beitmm.registry import MODELS
from beitmm.testing.shrink import TINY

VOCAB = 64
TOKENIZER = dict(type='beitmm.DALLETokenizer', with_decoder=True, n_hid=16, n_blk_per_group=1, vocab_size=VOCAB,
                 n_init=16)


def build_cim(head='respix', enhancer: str = 'vit', **kw):
    torch.manual_seed(0)
    if enhancer == 'vit':
        backbone = dict(type='beitmm.BEiT', arch=TINY, img_size=64, out_type='raw', use_rel_pos_bias=False,
                        use_shared_rel_pos_bias=True)
        channels, stride = 32, 16
    else:  # ResNet-50 layout at 1/8 of the width
        backbone = dict(type='mmpretrain.ResNet', depth=50, base_channels=8, stem_channels=8, out_indices=(3, ))
        channels, stride = 256, 32
    heads = dict(respix=dict(type='beitmm.CIMResPixHead', in_channels=channels, encoder_stride=stride,
                             window_size=3),
                 revdet=dict(type='beitmm.CIMRevDetHead', in_channels=channels))
    cfg = dict(type='beitmm.CIM',
               generator=dict(type='beitmm.BEiT', arch=TINY, img_size=64, out_type='raw', use_mask_token=True,
                              use_rel_pos_bias=False, use_shared_rel_pos_bias=True),
               generator_head=dict(type='beitmm.MIMHead', in_channels=32, out_channels=VOCAB),
               tokenizer=TOKENIZER, backbone=backbone, head=heads[head] if isinstance(head, str) else head)
    cfg.update(kw)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    masks = [torch.zeros(4, 4, dtype=torch.bool) for _ in range(2)]
    masks[0][:2, :2] = True
    masks[1][1:, 3] = True
    masks[1][3, :] = True
    data = dict(inputs=[[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8, generator=g) for _ in range(2)],
                        [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8, generator=g) for _ in range(2)]],
                data_samples=[BaseDataElement(mask=m) for m in masks])
    return data, torch.stack(masks).flatten(1)


def test_sample_tokens_temperature():
    logits = torch.tensor([[0., 1., 2., 3.], [5., 0., 0., 0.]])
    assert sample_tokens(logits, 0).tolist() == [3, 0]
    assert sample_tokens(logits * 1000, 1.0).tolist() == [3, 0]  # peaked: always the argmax
    g = torch.Generator().manual_seed(0)
    for t in (1.0, 2.0):
        draws = sample_tokens(logits[:1].expand(20000, 4), t, generator=g)
        freq = torch.bincount(draws, minlength=4).float() / 20000
        torch.testing.assert_close(freq, torch.softmax(logits[0] / t, -1), atol=0.015, rtol=0)
    x = torch.randn(3, 4, requires_grad=True)
    assert not sample_tokens(x, 1.0).requires_grad  # stop-gradient
    with pytest.raises(ValueError, match='temperature'):
        sample_tokens(logits, -1.0)


def test_replace_masked_changes_masked_positions_only():
    ids = torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8]])
    mask = torch.tensor([[True, False, True, False], [False, True, True, True]])
    sampled = torch.tensor([9, 3, 6, 0, 8])  # 3 == ids[0, 2] and 6 == ids[1, 1]: kept, not replaced
    corrupted, replaced = replace_masked(ids, mask, sampled)
    assert corrupted.tolist() == [[9, 2, 3, 4], [5, 6, 0, 8]]
    assert replaced.tolist() == [[True, False, False, False], [False, False, True, False]]
    assert torch.equal(corrupted[~mask], ids[~mask])
    with pytest.raises(ValueError, match='sampled tokens for 5 masked'):
        replace_masked(ids, mask, sampled[:4])


def test_corruption_replaces_only_masked_tokens_and_decodes_them():
    model = build_cim()
    data, mask = batch()
    d = model.data_preprocessor(data, True)
    parts = model.corrupt(d['inputs'][0], d['inputs'][1], mask)
    ids, corrupted = parts['ids'], parts['corrupted_ids']
    assert torch.equal(ids, model.tokenizer(d['inputs'][1]).flatten(1))
    assert torch.equal(corrupted[~mask], ids[~mask])
    assert (corrupted[mask] != ids[mask]).any()
    assert torch.equal(parts['replaced'], corrupted != ids) and not parts['replaced'][~mask].any()
    assert parts['logits'].shape == (int(mask.sum()), VOCAB) and parts['logits'].requires_grad
    decoded = model.tokenizer.decode(corrupted.reshape(2, 4, 4))  # [2, 3, 32, 32]
    resized = torch.nn.functional.interpolate(decoded, size=(64, 64), mode='bicubic', align_corners=False)
    torch.testing.assert_close(parts['corrupted'], resized.clamp(0, 1))
    # the original pixels are the undone normalisation of the generator view
    torch.testing.assert_close(parts['original'] * 255, torch.stack(data['inputs'][0]).flip(1).float(),
                               atol=1e-3, rtol=0)


def test_revdet_labels_equal_the_replacement():
    model = build_cim('revdet', temperature=0.0)
    data, mask = batch()
    fixed = torch.arange(32).reshape(2, 4, 4) % 5  # ids 0..4; masked positions with id 3 stay unchanged
    model.tokenizer.forward = lambda x: fixed
    with torch.no_grad():  # the generator always predicts token 3
        model.generator_head.fc.weight.zero_()
        model.generator_head.fc.bias.zero_()
        model.generator_head.fc.bias[3] = 10.0
    seen = {}
    orig_loss = model.head.loss_and_map

    def spy(feat, replaced, weights=None):
        seen['labels'] = replaced.clone()
        return orig_loss(feat, replaced, weights)

    model.head.loss_and_map = spy
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    expected = mask & (fixed.flatten(1) != 3)
    assert torch.equal(seen['labels'].flatten(1), expected)
    assert (mask & (fixed.flatten(1) == 3)).any()  # some sampled tokens equal the original
    torch.testing.assert_close(losses['replaced_ratio'], expected.sum() / mask.sum())
    torch.testing.assert_close(losses['resample_correct'], (mask & ~expected).sum() / mask.sum())


@pytest.mark.parametrize('head, enhancer', [('respix', 'vit'), ('revdet', 'vit'), ('respix', 'resnet')])
def test_each_network_gets_gradients_from_its_own_loss_only(head, enhancer):
    model = build_cim(head, enhancer)
    model.train()
    data, _ = batch()
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    enh_key = f'loss_{head}'
    assert set(losses) >= {'loss_gen', 'gen_acc', enh_key, 'replaced_ratio'}
    generator = [p for n, p in model.named_parameters() if n.startswith(('generator.', 'generator_head.'))]
    enhancer_params = [p for n, p in model.named_parameters() if n.startswith(('backbone.', 'head.'))]
    assert not any(p.requires_grad for p in model.tokenizer.parameters())

    losses['loss_gen'].backward(retain_graph=True)
    assert all(p.grad is None for p in enhancer_params)
    assert all(p.grad is not None for p in generator if p.requires_grad)
    assert sum(p.grad.abs().sum() for p in generator) > 0
    model.zero_grad(set_to_none=True)

    losses[enh_key].backward()
    assert all(p.grad is None for p in generator)
    assert sum(p.grad.abs().sum() for p in enhancer_params if p.grad is not None) > 0
    assert model.head.proj.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.tokenizer.parameters())


def test_checkpoint_keeps_enhancer_and_generator_not_tokenizer():
    model = build_cim()
    keys = set(model.state_dict())
    assert not any(k.startswith('tokenizer.') for k in keys)
    assert any(k.startswith('generator.') for k in keys) and any(k.startswith('backbone.') for k in keys)
    assert 'backbone.mask_token' not in keys and 'generator.mask_token' in keys
    lean = build_cim(save_generator=False)
    assert {k.split('.')[0] for k in lean.state_dict()} == {'backbone', 'head'}
    full = build_cim(save_tokenizer=True)  # e.g. the demo's random dVAE
    tok = {k for k in full.state_dict() if k.startswith('tokenizer.')}
    assert tok == {'tokenizer.' + k for k in full.tokenizer.state_dict()} and any('decoder' in k for k in tok)
    model.train()
    assert not model.tokenizer.training and model.generator.training


def test_configuration_errors_name_the_problem():
    with pytest.raises(ValueError, match='use_mask_token=True'):
        build_cim(generator=dict(type='beitmm.BEiT', arch=TINY, img_size=64, out_type='raw'))
    with pytest.raises(ValueError, match='with_decoder=True'):
        build_cim(tokenizer=dict(TOKENIZER, with_decoder=False))
    with pytest.raises(ValueError, match='vocabulary of 64'):
        build_cim(generator_head=dict(type='beitmm.MIMHead', in_channels=32, out_channels=128))
    with pytest.raises(ValueError, match='never sees mask tokens'):
        build_cim(backbone=dict(type='beitmm.BEiT', arch=TINY, img_size=64, out_type='raw', use_mask_token=True))
    with pytest.raises(TypeError, match='not a CIM enhancer head'):
        build_cim(dict(type='beitmm.MIMHead', in_channels=32, out_channels=8))
    model = build_cim()
    data, _ = batch()
    d = model.data_preprocessor(data, True)
    with pytest.raises(ValueError, match='two views'):
        model(d['inputs'][:1], d['data_samples'], mode='loss')


def test_own_checkpoint_passes_the_load_from_converter_unchanged():
    """``load_from`` / ``--resume`` of a ViT CIM run go through CheckpointConvertHook's conversion."""
    from beitmm.checkpoint import convert_state_for_model
    model = build_cim('revdet', save_tokenizer=True)
    state = model.state_dict()
    converted = convert_state_for_model(model, state)
    assert set(converted) == set(state)
    assert all(torch.equal(converted[k], v) for k, v in state.items())
