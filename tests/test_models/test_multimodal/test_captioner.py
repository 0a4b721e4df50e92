"""BEiT-3 captioner: unilm's corruption and loss by hand, official checkpoint layout against torchscale, decoding."""
import math

import pytest
import torch
from mmengine.logging import MessageHub
from mmpretrain.structures import DataSample
from torchscale.architecture.config import EncoderConfig
from torchscale.model.BEiT3 import BEiT3 as TorchscaleBEiT3

from beitmm.checkpoint import load_model_checkpoint
from beitmm.models.multimodal.captioner import BEiT3Captioner, label_smoothed_loss
from beitmm.registry import MODELS
from beitmm.testing.vl import TINY_BEIT3, tiny_backbone, tiny_tokenizer

CAPTIONS = ['a red circle left of a blue square', 'two stars', 'the yellow triangle is above the green star']


def _model(**kwargs) -> BEiT3Captioner:
    torch.manual_seed(0)
    model = MODELS.build(dict(type='beitmm.BEiT3Captioner', backbone=tiny_backbone('beit3'),
                              tokenizer=tiny_tokenizer('spm'), **kwargs))
    model.init_weights()
    with torch.no_grad():  # far from init, so that decoding explores (init logits are nearly flat)
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())) * 0.3)
    return model


def _samples(captions=CAPTIONS):
    return [DataSample(gt_caption=c, image_id=10 + i) for i, c in enumerate(captions)]


@pytest.mark.parametrize('n,p,k', [(2, 0.6, 1), (3, 0.6, 2), (5, 0.7, 4), (10, 0.6, 6), (9, 0.5, 5), (12, 0.7, 8)])
def test_corruption_counts_follow_unilm(n, p, k):
    """Masked count k = min(int(n * p + 0.5), n - 1), at least 1, from positions 1..n-1; never padding."""
    model = _model(mask_prob=p)
    ids = torch.randint(5, 60, (400, 14))
    pad = torch.arange(14)[None].expand(400, 14) >= n
    inputs, masked = model.corrupt(ids, pad, torch.Generator().manual_seed(n))
    assert (masked.sum(1) == k).all()
    assert not masked[:, 0].any() and not masked[pad].any()
    assert torch.equal(inputs[~masked], ids[~masked])
    freq = masked[:, 1:n].float().mean(0)  # uniform over 1..n-1
    assert torch.allclose(freq, torch.full_like(freq, k / (n - 1)), atol=0.1)


def test_corruption_is_80_10_10():
    model = _model()
    ids = torch.randint(5, 60, (3000, 20))
    inputs, masked = model.corrupt(ids, torch.zeros(3000, 20, dtype=torch.bool), torch.Generator().manual_seed(0))
    got, orig = inputs[masked], ids[masked]
    is_mask = got == model.tokenizer.mask_id
    kept = ~is_mask & (got == orig)
    assert is_mask.float().mean().item() == pytest.approx(0.8, abs=0.01)
    assert kept.float().mean().item() == pytest.approx(0.1 + 0.1 * 1 / 78, abs=0.01)  # random id can hit the label
    rand = got[~is_mask & ~kept]
    assert rand.min() >= 3 and rand.max() < model.tokenizer.vocab_size


def test_label_smoothed_loss_by_hand():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0], [1.0, 1.0, 1.0]])
    labels = torch.tensor([0, 1, 2])
    per_token = []
    for row, y in zip(logits.tolist(), labels.tolist(), strict=True):
        z = sum(math.exp(v) for v in row)
        t = [0.9 if i == y else 0.05 for i in range(3)]  # eps 0.1 over V - 1 = 2 classes
        per_token.append(sum(ti * math.log(ti / (math.exp(v) / z)) for ti, v in zip(t, row, strict=True)))
    assert label_smoothed_loss(logits, labels, 0.1).item() == pytest.approx(sum(per_token) / 3, rel=1e-6)
    kept = sorted(per_token)[:int(3 * (1 - 0.4))]  # drop_worst_ratio 0.4 keeps the int(3 * 0.6) = 1 best
    assert label_smoothed_loss(logits, labels, 0.1, 0.4).item() == pytest.approx(sum(kept) / len(kept), rel=1e-6)


def test_training_step_and_drop_worst_after():
    model = _model(drop_worst_ratio=0.5, drop_worst_after=5).train()
    img = torch.randn(3, 3, 32, 32)
    torch.manual_seed(1)
    losses = model(img, _samples(), mode='loss')
    assert set(losses) == {'loss', 'acc'} and torch.isfinite(losses['loss'])
    losses['loss'].backward()
    assert model.mlm_head.weight.grad.abs().sum() > 0 and model.backbone.text_embed.weight.grad.abs().sum() > 0
    hub = MessageHub.get_current_instance()
    values = {}
    for it in (5, 6):  # unilm drops the worst token losses when iter > drop_worst_after
        hub.update_info('iter', it)
        torch.manual_seed(1)
        values[it] = model(img, _samples(), mode='loss')['loss'].item()
    hub.runtime_info.pop('iter')
    assert values[5] == pytest.approx(losses['loss'].item()) and values[6] < values[5]


def test_text_sees_only_earlier_text():
    model = _model().eval()
    img = torch.randn(1, 3, 32, 32)
    ids, pad = model.tokenize(CAPTIONS[:1])
    changed = ids.clone()
    changed[0, 5] = 7  # a later token changes: logits of positions < 5 must not
    with torch.no_grad():
        a, b = model.text_logits(img, ids, pad), model.text_logits(img, changed, pad)
    assert torch.equal(a[0, :5], b[0, :5]) and not torch.allclose(a[0, 5:], b[0, 5:])


def _torchscale_pair():
    args = EncoderConfig(img_size=32, patch_size=16, vocab_size=160, multiway=True, layernorm_embedding=False,
                         normalize_output=True, no_output_layer=True, max_source_positions=66,
                         encoder_embed_dim=TINY_BEIT3['embed_dims'], encoder_attention_heads=TINY_BEIT3['num_heads'],
                         encoder_ffn_embed_dim=TINY_BEIT3['feedforward_channels'],
                         encoder_layers=TINY_BEIT3['num_layers'])
    ref = TorchscaleBEiT3(args).eval()
    head = torch.nn.Linear(TINY_BEIT3['embed_dims'], 160)
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for p in list(ref.parameters()) + list(head.parameters()):
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return ref, head


def test_unilm_checkpoint_loads_and_matches_torchscale():
    """A unilm ``BEiT3ForCaptioning`` state (``beit3.*`` + ``mlm_head.*``) loads through the 'beit3' converter."""
    ref, head = _torchscale_pair()
    state = {f'beit3.{k}': v for k, v in ref.state_dict().items()}
    state.update({f'mlm_head.{k}': v for k, v in head.state_dict().items()})
    model = _model().eval()
    load_model_checkpoint(model, {'model': state})
    img = torch.randn(2, 3, 32, 32)
    ids, pad = model.tokenize(CAPTIONS[:2])
    # unilm BEiT3ForCaptioning.forward (training path): image->image, text->image full, text->text causal
    image_len, text_len = 5, ids.shape[1]
    allowed = torch.zeros(image_len + text_len, image_len + text_len, dtype=torch.long)
    allowed[image_len:, image_len:] = torch.tril(torch.ones(text_len, text_len, dtype=torch.long))
    allowed[image_len:, :image_len] = 1
    allowed[:image_len, :image_len] = 1
    with torch.no_grad():
        out = ref(textual_tokens=ids, visual_tokens=img, text_padding_position=pad, attn_mask=1 - allowed)
        want = head(out['encoder_out'][:, image_len:])
        got = model.text_logits(img, ids, pad)
    torch.testing.assert_close(got[~pad], want[~pad], rtol=1e-5, atol=1e-5)


def test_predict_sets_captions_cached_equals_recomputed():
    model = _model().eval()
    img = torch.randn(2, 3, 32, 32)
    samples = [DataSample(image_id=1), DataSample(image_id=2)]
    with torch.no_grad():
        out = model(img, samples, mode='predict')
        cached = model.generate(img)
        full = model.generate(img, use_cache=False)
    assert torch.equal(cached.tokens, full.tokens)
    assert [s.image_id for s in out] == [1, 2]
    assert [s.pred_caption for s in out] == model.tokenizer.decode_batch(cached.tokens, skip_special_tokens=True)
    assert all(isinstance(s.pred_caption, str) and s.pred_caption for s in out)
    assert (cached.tokens[:, 0] == model.tokenizer.bos_id).all() and (cached.lengths <= 31).all()
    ends = cached.tokens[torch.arange(2), cached.lengths - 1]
    assert (ends == model.tokenizer.eos_id).all()  # a caption cut at max_len also ends with </s> (unilm)
    assert model(img, mode='tensor').shape[0] == 2


def test_bad_captions():
    model = _model()
    img = torch.randn(3, 3, 32, 32)
    with pytest.raises(ValueError, match=r'data sample 1 \(image_id 11\) has an empty gt_caption'):
        model.loss(img, _samples(['a circle', '  ', 'two stars']))
    with pytest.raises(ValueError, match="no text field 'gt_caption'"):
        model.loss(img, [DataSample(image_id=3, gt_caption=['a', 'b'])] * 3)  # a val item's list of references
    before = model.truncated_texts()
    model.loss(img, _samples(['star ' * 40, 'a circle', 'two stars']))  # 40 words > 32 tokens: cut, counted
    assert model.truncated_texts() == before + 1
    with pytest.raises(ValueError, match='released-layout'):
        MODELS.build(dict(type='beitmm.BEiT3Captioner', backbone=tiny_backbone('vlmo'), tokenizer=tiny_tokenizer()))
    with pytest.raises(ValueError, match='mode'):
        model(img, mode='generate')
