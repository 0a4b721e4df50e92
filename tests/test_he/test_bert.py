"""Encrypted THE-X inference of a converted BertEncoder (TenSEAL CKKS): padding, any length, the plaintext match."""
import numpy as np
import pytest
import torch

from beitmm.models.the_x import convert_model
from beitmm.registry import MODELS

pytest.importorskip('tenseal')


def tiny_converted_bert() -> torch.nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(dict(type='beitmm.BertEncoder', vocab_size=30, max_position_embeddings=6,
                              arch=dict(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32)))
    model.init_weights()
    return convert_model(model.eval(), softmax=dict(type='beitmm.THEXSoftmax', fit_steps=0)).eval()


def test_token_circuit_with_padding_equals_the_plaintext_approximated_model():
    from beitmm.he import encrypted_bert_inference
    model = tiny_converted_bert()
    ids = torch.tensor([[5, 9, 2, 0]])  # 3 real tokens + 1 padding
    pad = torch.tensor([[False, False, False, True]])
    with torch.no_grad():
        ref = model(ids, padding_mask=pad).double().numpy()  # [1, 4, 16]
        short = model(ids[:, :3]).double().numpy()
    run = encrypted_bert_inference(model, ids, pad, circuit='token')
    assert run.logits.shape == (1, 4, 16)
    rel = np.abs(run.logits - ref).max() / np.abs(ref).max()
    assert rel < 1e-3, rel  # CKKS at 2^40 (measured ~1e-6)
    # the padded key is ignored: the real tokens' states equal the unpadded text's
    assert np.abs(run.logits[:, :3] - short).max() / np.abs(short).max() < 1e-3
    assert run.wire.round_trips == 7  # one layer: 5 attention + residual refresh + FFN ReLU
    assert run.wire.by_op == {'refresh': 3, 'relu': 4}


def test_encrypted_bert_refuses_texts_longer_than_the_position_table():
    from beitmm.he import encrypted_bert_inference
    with pytest.raises(ValueError, match='longer than the position table'):
        encrypted_bert_inference(tiny_converted_bert(), torch.zeros(1, 7, dtype=torch.long))
