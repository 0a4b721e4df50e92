"""The packed THE-X circuit (beitmm.he.packed).

Layouts against hand-written tables, the client's gathers, equality with the plaintext approximated model (padding,
UniLM v2's relative position bias, two layers, a classifier head).
"""
import numpy as np
import pytest
import torch

from beitmm.models.the_x import convert_model
from beitmm.registry import MODELS

pytest.importorskip('tenseal')


def test_layouts_match_a_hand_written_table():
    from beitmm.he.packed import block_index, blocks_gather, cols_gather
    # 8 slots, L = 2 tokens: blocks hold 4 channels; X [2, 5] at flat indices 0..9 (row-major)
    idx = np.arange(10).reshape(2, 5)
    b = blocks_gather(idx, 8)
    assert [v.tolist() for v in b] == [[0, 5, 1, 6, 2, 7, 3, 8], [4, 9, -1, -1, -1, -1, -1, -1]]
    # where X sits once laid out in blocks (block k at k * 8): X[l, c] -> (c // 4) * 8 + (c % 4) * 2 + l
    assert block_index(2, 5, 8).tolist() == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]
    cols = cols_gather(idx, 8)  # channel c: its 2 values tiled 4 times
    assert cols[3].tolist() == [3, 8] * 4
    assert cols_gather(np.arange(3).reshape(3, 1), 8)[0].tolist() == [0, 1, 2, 0, 1, 2, -1, -1]


def test_client_gathers_zero_fill_and_sums():
    import tenseal as ts

    from beitmm.he import CIRCUIT_DEPTH, Client, derive_params, make_context
    ctx = make_context(derive_params(CIRCUIT_DEPTH, 4))
    client = Client(ctx)
    blobs = client.encrypt([np.array([1., -2., 3., 4.])])
    out = client.round_trip(blobs, 'relu', gather=[np.array([3, -1, 0]), np.array([[0, 1, 2], [3, -1, -1]])],
                            index_checks=[(np.array([[0, 1], [2, 3]]), 0., 4., 'pair sums', True)])
    got = [np.array(ts.ckks_vector_from(ctx, b).decrypt()) for b in out]
    np.testing.assert_allclose(got[0], [4., 0., 1.], atol=1e-5)  # ReLU then gather (-1: 0)
    np.testing.assert_allclose(got[1], [4., 4.], atol=1e-5)  # sums over the last axis: 1 + 0 + 3, 4
    # checked before the ReLU: 1 + (-2) = -1 < 0 and 3 + 4 = 7 > 4
    assert client.wire.checked['pair sums'] == 2 and client.wire.out_of_range['pair sums'] == 2


def _encoder(**kw) -> torch.nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(dict(type='beitmm.BertEncoder', vocab_size=30, max_position_embeddings=8,
                              arch=dict(hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32), **kw))
    model.init_weights()
    if model.rel_pos_bias is not None:
        with torch.no_grad():
            model.rel_pos_bias.weight.normal_(0, .5)  # a visible bias (the init is small)
    return convert_model(model.eval(), softmax=dict(type='beitmm.THEXSoftmax', fit_steps=0)).eval()


def test_packed_unilm2_encoder_with_padding_equals_the_plaintext_approximated_model():
    from beitmm.he import encrypted_bert_inference
    model = _encoder(rel_pos_bins=8, max_rel_pos=16, embedding_size=8)  # + ELECTRA's embeddings_project
    ids = torch.tensor([[5, 9, 2, 7, 3, 0]])
    pad = torch.tensor([[False] * 5 + [True]])
    with torch.no_grad():
        ref = model(ids, padding_mask=pad).double().numpy()  # [1, 6, 16]
        short = model(ids[:, :5]).double().numpy()
        plain = _encoder(embedding_size=8)(ids, padding_mask=pad).double().numpy()
    assert np.abs(ref - plain).max() > 1e-2  # the relative position bias matters here
    run = encrypted_bert_inference(model, ids, pad)  # circuit='packed' (the default)
    assert np.abs(run.logits - ref).max() / np.abs(ref).max() < 1e-3  # CKKS at 2^40 (measured ~7e-7)
    assert np.abs(run.logits[:, :5] - short).max() / np.abs(short).max() < 1e-3  # the padded key is ignored
    assert run.wire.round_trips == 20  # 10 per layer, the first input fresh, + the output norm's columns
    assert run.wire.out_of_range == {'softmax input': 0, 'softmax row sum': 0}


def test_packed_classifier_head_on_ciphertext(tmp_path):
    from beitmm.he import encrypted_text_inference
    vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] + 'the a movie good bad is was not very fun'.split()
    (tmp_path / 'vocab.txt').write_text('\n'.join(vocab) + '\n')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='beitmm.TextClassifier', num_classes=3, max_len=16,
        backbone=dict(type='beitmm.BertEncoder', vocab_size=len(vocab), max_position_embeddings=16,
                      arch=dict(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32)),
        tokenizer=dict(type='beitmm.WordPieceTokenizer', vocab_file=str(tmp_path / 'vocab.txt'))))
    model.init_weights()
    with torch.no_grad():
        for m in (model.pooler.dense, model.classifier):
            m.weight.normal_(0, .5)  # logits far from 0 (BERT's init makes them tiny)
    model = convert_model(model.eval(), softmax=dict(type='beitmm.THEXSoftmax', fit_steps=0)).eval()
    texts = ['the movie was good', 'a very bad movie is not fun']  # 6 and 9 tokens: two plans
    with torch.no_grad():
        ref = model.logits(texts).double().numpy()  # [2, 3]
    run = encrypted_text_inference(model, texts)
    assert run.logits.shape == (2, 3)
    assert np.abs(run.logits - ref).max() / np.abs(ref).max() < 1e-3
    assert run.wire.round_trips == 2 * (9 + 2)  # per text: one layer + [CLS] columns + pooler ReLU


def test_packed_circuit_needs_the_scores_of_a_head_in_one_ciphertext():
    from beitmm.he import CIRCUIT_DEPTH, Client, Server, derive_params, make_context
    from beitmm.he.bert import bert_plans
    from beitmm.he.packed import PackedBert
    model = _encoder()
    client = Client(make_context(derive_params(CIRCUIT_DEPTH, 32)))
    server = Server(None, client.public_context(), slots=32)
    with pytest.raises(ValueError, match='L=65 needs 4225 slots'):
        PackedBert(server, client, bert_plans(model, 65), 65, None)
