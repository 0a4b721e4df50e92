"""BEiT-3's "BEiT initialization" for from-scratch pretraining (paper §2.3, footnote 4).

Reference, transcribed in our own words from unilm ``beit/modeling_pretrain.py:78-84`` (``fix_init_weight``): the
block at index i has layer id i + 1, and its attention output projection and its FFN's second linear are divided
by sqrt(2 * layer id). BEiT-3 has one such projection per expert (released layout: ``out_proj.A/B``, ``ffn.A/B``;
paper layout: one shared ``attn.proj``, an ``fc2`` per FFN expert), so every one of them is divided. unilm's BEiT-3
fine-tuning models never call their ``fix_init_weight`` (``beit3/modeling_utils.py:54-61``): the default stays off.
"""
import math

import pytest
import torch

from beitmm.registry import MODELS

DEPTH = 4


def _build(**kw):
    torch.manual_seed(0)
    model = MODELS.build(dict(type='beitmm.BEiT3', arch=dict(embed_dims=16, num_layers=DEPTH, num_heads=2,
                                                             feedforward_channels=32),
                              img_size=32, vocab_size=20, max_text_positions=12, **kw))
    model.init_weights()
    return model


def _output_names(layout: str, layer: int):
    """The residual output projections of one layer, written out by hand for each layout."""
    pre = f'encoder.layers.{layer}.'
    if layout == 'released':
        return [pre + n for n in ('self_attn.out_proj.A.weight', 'self_attn.out_proj.B.weight',
                                  'ffn.A.fc2.weight', 'ffn.B.fc2.weight')]
    experts = ('A', 'B', 'vl') if layer >= DEPTH - 3 else ('A', 'B')  # VL expert in the top 3 layers (Table 2)
    return [pre + 'attn.proj.weight'] + [pre + f'mlp_{e}.fc2.weight' for e in experts]


def _fix_init_weight(weights_per_layer):
    """The unilm fix_init_weight rule: layer_id = index + 1; each output weight divided by sqrt(2 * layer_id)."""
    return [[w / math.sqrt(2.0 * (index + 1)) for w in ws] for index, ws in enumerate(weights_per_layer)]


@pytest.mark.parametrize('layout', ['released', 'paper'])
def test_rescale_init_divides_each_layers_output_projections_as_unilm_fix_init_weight(layout):
    plain, scaled = _build(layout=layout), _build(layout=layout, rescale_init=True)
    before, after = plain.state_dict(), scaled.state_dict()
    names = [_output_names(layout, i) for i in range(DEPTH)]
    assert all(n in before for ns in names for n in ns), sorted(before)
    expected = _fix_init_weight([[before[n] for n in ns] for ns in names])
    for ns, ws in zip(names, expected, strict=True):
        for n, w in zip(ns, ws, strict=True):
            torch.testing.assert_close(after[n], w, rtol=0, atol=0)
    rescaled = {n for ns in names for n in ns}
    for n, v in before.items():  # everything else (biases, q/k/v, fc1, norms, embeddings) is the same init
        if n not in rescaled:
            assert torch.equal(after[n], v), n


def test_fine_tuning_init_and_checkpoints_are_never_rescaled(tmp_path):
    plain = _build()
    assert plain.rescale_init is False  # default: unilm's fine-tuning init, no fix_init_weight
    path = str(tmp_path / 'beit3.pth')
    torch.save(dict(model=plain.state_dict()), path)
    loaded = _build(rescale_init=True, init_cfg=dict(type='Pretrained', checkpoint=path))
    for n, v in plain.state_dict().items():  # a loaded checkpoint is taken as it is
        assert torch.equal(loaded.state_dict()[n], v), n
