"""THE-X on text encoders: BERT layers and BEiT-3's MultiwayAttention through the shared softmax hook."""
import pytest
import torch
import torch.nn as nn

from beitmm.models.backbones.bert import _SelfAttention
from beitmm.models.layers import MultiwayAttention
from beitmm.models.the_x import THEXAffineNorm, THEXSoftmax, convert_model
from beitmm.models.the_x.checkpoints import weight_report
from beitmm.registry import MODELS

FAST_SOFTMAX = dict(type='beitmm.THEXSoftmax', fit_steps=0)  # its interpolant init: structure tests need no fit


class ExactSoftmax(nn.Module):
    """softmax(scores + additive mask): with it the hooked path must equal the fused SDPA path (the reference)."""

    def forward(self, scores: torch.Tensor, attn_mask=None) -> torch.Tensor:
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float('-inf')) if attn_mask.dtype == torch.bool \
                else scores + attn_mask
        return scores.softmax(-1)


def tiny_bert(layers: int = 2, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='beitmm.BertEncoder', arch=dict(hidden_size=32, num_layers=layers, num_heads=4, intermediate_size=64),
        vocab_size=50, max_position_embeddings=16, **kwargs))
    model.init_weights()
    return model.eval()


def _ids():
    ids = torch.randint(0, 50, (2, 7), generator=torch.Generator().manual_seed(1))
    pad = torch.zeros(2, 7, dtype=torch.bool)
    pad[1, 4:] = True
    return ids, pad


@pytest.mark.parametrize('rel_pos_bins', [0, 32])  # 32: UniLM v2's relative position bias, added to the mask
def test_bert_softmax_hook_equals_the_fused_path(rel_pos_bins):
    model = tiny_bert(rel_pos_bins=rel_pos_bins, max_rel_pos=128 if rel_pos_bins else 0)
    ids, pad = _ids()
    with torch.no_grad():
        if rel_pos_bins:
            model.rel_pos_bias.weight.normal_(0, 1)
        ref = model(ids, padding_mask=pad)
        for layer in model.encoder.layer:
            layer.attention.self.softmax = ExactSoftmax()
        hooked = model(ids, padding_mask=pad)
    torch.testing.assert_close(hooked, ref, atol=1e-5, rtol=1e-5)


def test_converter_knows_bert_layers():
    model = tiny_bert()
    conv = convert_model(model, softmax=FAST_SOFTMAX)
    report = weight_report(model, conv)  # raises if a kept weight changed
    assert 'encoder.layer.0.attention.self.query.weight' in report['kept']
    assert 'encoder.layer.1.output.LayerNorm.weight' in report['replaced']
    for layer in conv.encoder.layer:
        assert type(layer.attention.self) is _SelfAttention  # the hook, not a second attention class
        assert isinstance(layer.attention.self.softmax, THEXSoftmax)
        assert isinstance(layer.intermediate.intermediate_act_fn, nn.ReLU)
        assert isinstance(layer.attention.output.LayerNorm, THEXAffineNorm)
        assert isinstance(layer.output.LayerNorm, THEXAffineNorm)
    assert not any(isinstance(m, (nn.LayerNorm, nn.GELU)) for m in conv.modules())
    ids, pad = _ids()
    with torch.no_grad():
        full = conv(ids, padding_mask=pad)
        short = conv(ids[1:, :4])  # the same text without its padding
    # the multiplicative mask makes padding exact: masked keys get numerator 0
    torch.testing.assert_close(full[1:, :4], short, atol=1e-5, rtol=1e-5)


def test_converted_softmax_alone_stays_close_to_the_original():
    """Only the softmax replaced (GELU and LayerNorm kept by hand): outputs near the original's."""
    model = tiny_bert(layers=1)
    ids, _ = _ids()
    conv = convert_model(model)
    for m_orig, m_conv in zip(model.encoder.layer, conv.encoder.layer, strict=True):
        m_conv.intermediate.intermediate_act_fn = nn.GELU()
        m_conv.attention.output.LayerNorm = m_orig.attention.output.LayerNorm
        m_conv.output.LayerNorm = m_orig.output.LayerNorm
    conv.embeddings.LayerNorm = model.embeddings.LayerNorm
    with torch.no_grad():
        ref, out = model(ids), conv(ids)
    rel = float((out - ref).norm() / ref.norm())
    assert rel < 0.05, rel  # THEXSoftmax is within a few % of softmax on small scores (approx tests)


def test_multiway_attention_gets_the_softmax_hook():
    torch.manual_seed(0)
    attn = MultiwayAttention(16, 2).eval()
    x = torch.randn(2, 5, 16)
    spans = [('A', 2), ('B', 3)]  # (expert, token count)
    keep = torch.ones(2, 1, 1, 5, dtype=torch.bool)
    keep[1, ..., 3:] = False
    with torch.no_grad():
        ref = attn(x, spans, keep)
        attn.softmax = ExactSoftmax()
        torch.testing.assert_close(attn(x, spans, keep), ref, atol=1e-5, rtol=1e-5)


def test_converter_knows_beit3_text_branch():
    from beitmm.testing.vl import tiny_backbone, tiny_tokenizer
    model = MODELS.build(dict(type='beitmm.TextClassifier', num_classes=3, tokenizer=tiny_tokenizer('spm'),
                              backbone=tiny_backbone('beit3', modalities=('language', )))).eval()
    conv = convert_model(model, softmax=FAST_SOFTMAX).eval()
    attns = [m for m in conv.modules() if isinstance(m, MultiwayAttention)]
    assert attns and all(isinstance(a.softmax, THEXSoftmax) for a in attns)
    assert not any(isinstance(m, (nn.LayerNorm, nn.GELU, nn.Tanh)) for m in conv.modules())
    texts = ['a red circle', 'two blue squares left of a green triangle']  # padding: the multiplicative mask
    with torch.no_grad():
        logits = conv.logits(texts)
        alone = conv.logits(texts[:1])
    torch.testing.assert_close(logits[:1], alone, atol=1e-5, rtol=1e-5)  # padding exact


def test_sequential_calibration_uses_the_students_own_inputs():
    """Sequential calibration of a 4-layer post-LN BertEncoder.

    Each affine norm's output has unit per-token std (its LayerNorm's gamma is 1) on the calibration batch as the
    *student* computes it, and each softmax's largest scaled score is 3.
    """
    from beitmm.models.the_x import calibrate_student, convert_model
    from beitmm.registry import MODELS
    torch.manual_seed(0)
    teacher = MODELS.build(dict(type='beitmm.BertEncoder', vocab_size=30, max_position_embeddings=8,
                                arch=dict(hidden_size=16, num_layers=4, num_heads=2, intermediate_size=32))).eval()
    with torch.no_grad():
        for name, p in teacher.named_parameters():
            if 'LayerNorm' not in name:
                p.normal_(0, .3)  # large weights: the student's inputs drift far from the teacher's
    ids = torch.randint(1, 30, (4, 8), generator=torch.Generator().manual_seed(0))
    student = convert_model(teacher)
    calibrate_student(teacher, student, lambda m: m(ids), sequential=True)
    stats = {}
    hooks = [m.register_forward_hook(lambda mod, args, out, n=n: stats.__setitem__(
        n, float(out.std(-1).mean()) if 'LayerNorm' in n else float((args[0] * mod.scale).abs().max())))
        for n, m in student.named_modules() if n.endswith('LayerNorm') or n.endswith('softmax')]
    with torch.no_grad():
        student(ids)
    for h in hooks:
        h.remove()
    assert len(stats) == 1 + 4 * 3  # embeddings + per layer: softmax and two norms
    for name, value in stats.items():
        target = 3. if name.endswith('softmax') else 1.
        assert abs(value - target) < 1e-3 * target, (name, value)  # exact up to float32 (the calibration's std)
    default = convert_model(teacher)
    calibrate_student(teacher, default, lambda m: m(ids))  # the default: each norm from the teacher's std
    out = {}
    hook = default.encoder.layer[3].output.LayerNorm.register_forward_hook(
        lambda mod, args, o: out.__setitem__('std', float(o.std(-1).mean())))
    with torch.no_grad():
        default(ids)
    hook.remove()
    assert abs(out['std'] - 1.) > 0.05  # the teacher's stds do not normalise the student's drifted inputs
