"""Seq2SeqFinetuner against s2s-ft / UniLM v1 details.

Encoders without token types, segment ids, truncation, greedy decoding, the tokenized format, ignore words and
the output text.

References: transcriptions of ``unilm-v1/src/biunilm/seq2seq_loader.py`` (segment ids), ``s2s-ft/s2s_ft/utils.py``
(v0 truncation), ``decode_seq2seq.py`` (ignore words, output text) and hand-written values.
"""
from unittest import mock

import pytest
import torch
from mmpretrain.structures import DataSample

from beitmm.models.generation import Generated
from beitmm.models.seq2seq import pack
from beitmm.registry import MODELS

WORDS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', ',', "'", 'john', 's', 'said', 'it', 'don', 't', 'a',
         'red', 'circle', 'left', 'blue', 'square', '##s', '##ed', '[X_SEP]', 'b', 'c', 'd', 'e']


@pytest.fixture(scope='module')
def vocab(tmp_path_factory):
    path = tmp_path_factory.mktemp('vocab') / 'vocab.txt'
    path.write_text('\n'.join(WORDS) + '\n', encoding='utf-8')
    return str(path)


def _model(vocab, algorithm='pseudo-masked', type_vocab_size=2, **kw):
    torch.manual_seed(0)
    kw.setdefault('ngram_ignore_words', ())
    model = MODELS.build(dict(type='beitmm.Seq2SeqFinetuner', algorithm=algorithm, max_source_len=8,
                              max_target_len=6, num_beams=2,
                              backbone=dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=len(WORDS),
                                            max_position_embeddings=20, type_vocab_size=type_vocab_size,
                                            layer_norm_eps=1e-5 if not type_vocab_size else 1e-12),
                              tokenizer=dict(type='beitmm.WordPieceTokenizer', vocab_file=vocab), **kw))
    model.init_weights()
    return model


def test_roberta_layout_without_token_types_trains_and_decodes(vocab):
    """S1 / S12: type_vocab_size=0 gets no token types (s2s-ft ignores them); the head's LN eps is the encoder's."""
    model = _model(vocab, type_vocab_size=0)
    assert model.cls.predictions.transform.LayerNorm.eps == 1e-5
    samples = [DataSample(src='john said it', tgt='red circle'), DataSample(src='a blue square', tgt='left')]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss = model(data_samples=samples, mode='loss')['loss']
    loss.backward()
    opt.step()
    assert torch.isfinite(loss) and model.backbone.embeddings.word_embeddings.weight.grad.abs().sum() > 0
    model.eval()
    for beams in (1, 2):
        model.search.num_beams = beams
        assert all(isinstance(s.pred_text, str) for s in model(data_samples=samples, mode='predict'))


def test_unilm_v1_segment_ids_follow_the_official_loader(vocab):
    """S2: UniLM v1's --new_segment_ids s2s ids.

    Training: [4] * (len(a) + 2) + [5] * (len(b) + 1) (seq2seq_loader.py:168-169); decoding: [4] * source +
    [5] * target (:367-368).
    """
    model = _model(vocab, 'masked', type_vocab_size=6, source_type_id=4, target_type_id=5)
    a, b = ['john', 'said', 'it'], ['red', 'circle']
    official = [4] * (len(a) + 2) + [5] * (len(b) + 1)
    seen = []
    run = model.run
    model.run = lambda ids, pos, seg, *r, **k: seen.append(seg.clone()) or run(ids, pos, seg, *r, **k)
    model(data_samples=[DataSample(src=' '.join(a), tgt=' '.join(b))], mode='loss')
    assert seen[0][0].tolist() == official
    model.eval()
    seen.clear()
    model.generate(model._tokenize([DataSample(src=' '.join(a))], with_target=False)[0], num_beams=1)
    assert seen[0][0].tolist() == [4] * (len(a) + 2) + [5]  # first step: source and the first [MASK]
    assert all(s.eq(5).all() for s in seen[1:])


def test_bert_converter_keeps_a_six_row_type_table(vocab, tmp_path):
    model = _model(vocab, type_vocab_size=6)
    state = {k: torch.randn_like(v) for k, v in model.backbone.state_dict().items()}
    path = tmp_path / 'unilm1.bin'
    torch.save({'bert.' + k: v for k, v in state.items()}, path)
    backbone = MODELS.build(dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=len(WORDS),
                                 max_position_embeddings=20, type_vocab_size=6,
                                 init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    backbone.init_weights()
    torch.testing.assert_close(backbone.embeddings.token_type_embeddings.weight,
                               state['embeddings.token_type_embeddings.weight'], rtol=0, atol=0)


def test_causal_truncation_keeps_cls_and_max_source_len_minus_one_tokens(vocab):
    """S6: s2s-ft v0 keeps [CLS] + src[:max_source_len - 1] (utils.py:95, __trunk without [SEP])."""
    src = 'a b c d e red blue left circle square'
    model = _model(vocab, 'causal')
    sources, _ = model._tokenize([DataSample(src=src)], with_target=False)
    ids = pack(sources, [[3]], 'causal', 4, 0, 3, model.random_ids, 0.).source[0].tolist()
    words = [WORDS.index(w) for w in src.split()]
    assert ids == [2] + words[:7]  # max_source_len 8
    sources, _ = _model(vocab, 'pseudo-masked')._tokenize([DataSample(src=src)], with_target=False)
    assert sources[0] == [2] + words[:6] + [3]  # with [SEP]: max_source_len - 2 source tokens


def test_greedy_decoding_is_a_plain_argmax(vocab):
    """S7: s2s-ft's greedy path applies neither min_len nor the n-gram ban (modeling_decoding.py:1146-1233)."""
    model = _model(vocab, min_len=3, no_repeat_ngram_size=2)
    seen = {}

    def greedy(decoder, tokens, cfg):
        seen['cfg'] = cfg
        return Generated(torch.tensor([[3]]), torch.tensor([1]), torch.zeros(1))

    with mock.patch('beitmm.models.seq2seq.s2s_ft.greedy_search', greedy):
        model.generate([[2, 8, 3]], num_beams=1)
    assert seen['cfg'].min_len == 0 and seen['cfg'].no_repeat_ngram_size == 0
    assert model.search.min_len == 3 and model.search.strategy == 'slots'  # beam search keeps both


def test_tokenized_format_converts_token_by_token_and_ignore_words(vocab):
    """S8: list src / tgt become ids one by one ([X_SEP] whole, unknown -> [UNK]).

    ``'.|[x_sep]'`` is read as decode_seq2seq.py's --forbid_ignore_word (bracketed words upper-cased).
    """
    model = _model(vocab, ngram_ignore_words='.|[x_sep]')
    assert model.search.ngram_ignore_ids == (5, 22)
    sample = DataSample(src='john said . [X_SEP] it', src_tokens=['john', 'said', '.', '[X_SEP]', 'it', 'zz'],
                        tgt='red circle', tgt_tokens=['red', 'circle', '##s'])
    sources, targets = model._tokenize([sample], with_target=True)
    assert sources[0] == [2, 8, 10, 5, 22, 11, 1, 3]
    assert targets[0] == [15, 16, 20, 3]
    assert model._tokenize([DataSample(src='john said . [X_SEP] it')], False)[0][0][4] != 22  # text: re-tokenized


def test_output_text_is_the_official_detokenization(vocab):
    """S9: stop at the first [SEP] / [PAD], glue ##, join with spaces, keep [UNK] (decode_seq2seq.py:49-56,270-283)."""
    model = _model(vocab)
    ids = [WORDS.index(t) for t in ['john', "'", 's', 'said', ',', 'it', '.', 'don', "'", 't', '[UNK]', 'circle',
                                    '##s', '[SEP]', 'red']]
    assert model.decode_text(torch.tensor([ids])) == ["john ' s said , it . don ' t [UNK] circles"]
    hf = _model(vocab, detokenize='hf')
    assert hf.decode_text(torch.tensor([ids])) == ["john's said, it. don't circles red"]
    causal = _model(vocab, 'causal')
    assert causal.decode_text(torch.tensor([[3] + ids[:3] + [0, 0]])) == ["john ' s"]  # the start [SEP] skipped
