"""Masked data modeling (BEiT-3 / VL-BEiT) and the multi-stream data preprocessor."""
import pytest
import torch
import torch.nn.functional as F

from beitmm.models.tokenizers.quantizer import find_quantizers
from beitmm.registry import MODELS
from beitmm.testing.pretrain_models import stream_batch, tiny_mdm


def _model(kind='beit3', **kw):
    torch.manual_seed(0)
    model = MODELS.build(tiny_mdm(kind, **kw))
    model.init_weights()
    return model


def test_preprocessor_normalises_images_adds_the_tokenizer_view_and_rejects_bad_batches():
    pre = MODELS.build(dict(type='beitmm.MultiStreamDataPreprocessor', mean=[100.] * 3, std=[50.] * 3,
                            target_mean=[127.5] * 3, target_std=[127.5] * 3))
    batch = stream_batch(streams=('image', 'text'))
    out = pre(batch, True)
    assert out['pair'] is None and set(out) == {'image', 'text', 'pair'}
    raw = batch['image']['img'].float()
    torch.testing.assert_close(out['image']['img'], (raw - 100) / 50)
    torch.testing.assert_close(out['image']['target_img'], raw / 127.5 - 1)
    assert out['text']['masked_text_ids'].dtype == torch.long and out['image']['mask'].dtype == torch.bool
    with pytest.raises(ValueError, match='unknown stream'):
        pre(dict(images=batch['image']))
    with pytest.raises(KeyError, match="'text' stream lacks \\['mlm_labels'\\]"):
        pre(dict(text={k: v for k, v in batch['text'].items() if k != 'mlm_labels'}))
    with pytest.raises(ValueError, match='no stream'):
        pre(dict(image=None))


@pytest.mark.parametrize('kind', ['beit3', 'vlbeit'])
def test_each_stream_loss_is_cross_entropy_at_its_masked_positions(kind):
    model = _model(kind)
    data = model.data_preprocessor(stream_batch(), True)
    out = model(**data)
    assert {'loss_image', 'loss_text', 'loss_pair', 'acc_image', 'acc_text', 'acc_pair_image', 'acc_pair_text'} <= \
        set(out)
    bb = model.backbone
    # image stream by hand: mask-token patches -> the last layer -> linear head at the masked patches only
    img, mask = data['image']['img'], data['image']['mask'].flatten(1)
    codes = model.target_generator.tokenize(img).flatten(1)
    hidden = bb(image=img, image_mask=mask)[-1][:, 1:]
    ref = F.cross_entropy(model.mim_head.fc(hidden[mask]), codes[mask])
    torch.testing.assert_close(out['loss_image'], ref)
    # text stream by hand: logits = LN(GELU(dense(h))) @ word_embeddings^T + bias at labelled positions
    t = data['text']
    h = bb(text=t['masked_text_ids'], text_padding_mask=t['padding_mask'])[-1]
    words = bb.text_embed.weight if kind == 'beit3' else bb.text_embeddings.word_embeddings.weight
    head = model.mlm_head.transform
    sel = t['mlm_labels'] != -100
    logits = F.layer_norm(F.gelu(head.dense(h[sel])), (32, ), head.LayerNorm.weight, head.LayerNorm.bias, 1e-12)
    torch.testing.assert_close(out['loss_text'], F.cross_entropy(logits @ words.t() + model.mlm_head.bias,
                                                                 t['mlm_labels'][sel]))
    torch.testing.assert_close(out['loss_pair'], out['pair_mim'] + out['pair_mlm'])


def test_masked_patches_are_hidden_and_the_pair_text_sees_the_image():
    model = _model().eval()
    data = model.data_preprocessor(stream_batch(), True)
    img, mask = data['image']['img'], data['image']['mask']
    changed = img.clone()
    grid_mask = mask.repeat_interleave(16, 1).repeat_interleave(16, 2)[:, None].expand_as(img)
    changed[grid_mask] = -img[grid_mask]  # new pixels in the masked patches only
    a = model.backbone(image=img, image_mask=mask.flatten(1))[-1]
    b = model.backbone(image=changed, image_mask=mask.flatten(1))[-1]
    torch.testing.assert_close(a, b)  # the student never sees a masked patch
    other = dict(data['pair'], img=torch.flip(data['pair']['img'], dims=[0]))
    base = model(pair=data['pair'])['pair_mlm']
    assert not torch.allclose(base, model(pair=other)['pair_mlm'])  # the masked words are predicted from the image
    assert model(text=data['text'])['loss_text'] == model(text=data['text'])['loss_text']


def test_tokenizer_runs_in_inference_mode_and_codebook_counts_its_targets(monkeypatch):
    model = _model()
    seen = []
    forward = model.target_generator.forward
    monkeypatch.setattr(model.target_generator, 'forward',
                        lambda *a, **k: seen.append(torch.is_inference_mode_enabled()) or forward(*a, **k))
    quantizer = find_quantizers(model)
    assert list(quantizer) == ['target_generator.quantize']
    q = quantizer['target_generator.quantize']
    q.reset_stats()
    out = model(**model.data_preprocessor(stream_batch(), True))
    assert seen == [True]  # image and pair streams tokenized in one call, without autograd
    assert q.codebook_stats(reduce=False)['assignments'] == 2 * 3 * 4  # two streams x 3 images x 4 patches
    sum(v for k, v in out.items() if k.startswith('loss')).backward()
    assert all(p.grad is None for p in model.target_generator.parameters())
    assert not any(k.startswith('target_generator.') for k in model.state_dict())


def test_stream_weights_absent_streams_and_vlbeit_text_only_pair_modeling():
    model = _model(stream_weights=dict(text=2.))
    data = model.data_preprocessor(stream_batch(streams=('text', )), True)
    out = model(**data)
    assert set(out) == {'loss_text', 'acc_text'}
    plain = _model()
    torch.testing.assert_close(out['loss_text'], 2 * plain(**data)['loss_text'])
    vl = _model('vlbeit', pair_mim=False)
    pair = vl.data_preprocessor(stream_batch(streams=('pair', )), True)
    pair['pair']['mask'][:] = False  # a VL-BEiT pair needs no patch mask
    assert set(vl(**pair)) == {'loss_pair', 'pair_mlm', 'acc_pair_text'}
    with pytest.raises(ValueError, match='stream_weights has unknown streams'):
        _model(stream_weights=dict(pairs=1.))


def test_bad_masks_and_missing_mask_token_are_named():
    model = _model()
    data = model.data_preprocessor(stream_batch(), True)
    data['image']['mask'][0] = False
    with pytest.raises(ValueError, match='image stream has no masked patch'):
        model(image=data['image'])
    data['text']['mlm_labels'][:] = -100
    with pytest.raises(ValueError, match='text stream has no masked text token'):
        model(text=data['text'])
    data['pair']['mask'] = torch.ones(3, 3, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match='mask has 9 patches'):
        model(pair=data['pair'])
    cfg = tiny_mdm()
    cfg['backbone']['use_mask_token'] = False
    with pytest.raises(ValueError, match='use_mask_token=True'):
        MODELS.build(cfg)


def test_whole_model_checkpoint_keeps_the_heads_through_the_converter():
    from beitmm.checkpoint import convert_state_for_model
    model = _model()
    state = model.state_dict()
    other = _model()
    torch.nn.init.zeros_(other.mim_head.fc.weight)
    converted = convert_state_for_model(other, state)  # the path of load_from / resume (CheckpointConvertHook)
    assert {k for k in state if k.startswith(('mim_head.', 'mlm_head.'))} <= set(converted)
    torch.testing.assert_close(converted['mim_head.fc.weight'], state['mim_head.fc.weight'])


def test_vlbeit_config_masks_the_pair_image_and_the_switch_restores_text_only():
    from mmengine.config import Config

    from beitmm.testing.shrink import config_path
    cfg = Config.fromfile(config_path('vlbeit/vlbeit-b_pretrain_vl-corpus.py'))
    assert cfg.model.pair_mim is True  # the best evidence found (configs/vlbeit/README.md)
    masks = [s for s in cfg.train_dataloader.dataset.sources.pair.pipeline if s.type.endswith('BlockwiseMaskGenerator')]
    assert [(m.input_size, m.num_masking_patches) for m in masks] == [(14, 78)]  # 40% of the 196 patches
    model = _model('vlbeit').eval()
    pair = model.data_preprocessor(stream_batch(streams=('pair', )), True)['pair']
    out = model(pair=pair)
    # by hand: the pair's masked patches (VL-BEiT orders [text; cls; patches]) -> MIM head -> CE with their codes
    img, ids, mask = pair['img'], pair['masked_text_ids'], pair['mask'].flatten(1)
    hidden = model.backbone(image=img, text=ids, text_padding_mask=pair['padding_mask'], image_mask=mask)[-1]
    patches = hidden[:, ids.shape[1] + 1:]
    codes = model.target_generator.tokenize(img).flatten(1)
    torch.testing.assert_close(out['pair_mim'], F.cross_entropy(model.mim_head.fc(patches[mask]), codes[mask]))
    torch.testing.assert_close(out['loss_pair'], out['pair_mim'] + out['pair_mlm'])
    # the text is predicted without the masked patches ...
    changed = dict(pair, img=img.clone())
    grid = pair['mask'].repeat_interleave(16, 1).repeat_interleave(16, 2)[:, None].expand_as(img)
    changed['img'][grid] = 20.  # new content in the masked patches only
    torch.testing.assert_close(model(pair=changed)['pair_mlm'], out['pair_mlm'])
    # ... and with pair_mim=False the backbone gets the whole image and only the text is predicted
    text_only = _model('vlbeit', pair_mim=False).eval()
    seen = []
    forward = text_only.backbone.forward
    text_only.backbone.forward = lambda *a, **k: seen.append(k.get('image_mask')) or forward(*a, **k)
    assert set(text_only(pair=pair)) == {'loss_pair', 'pair_mlm', 'acc_pair_text'} and seen == [None]
