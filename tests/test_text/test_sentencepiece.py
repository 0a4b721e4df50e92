"""beitmm.SentencePieceTokenizer against transformers.XLMRobertaTokenizer (BEiT-3's tokenizer) on tiny models."""
import pickle
import random

import pytest
import sentencepiece as spm
import torch
from transformers import XLMRobertaTokenizer

from beitmm.text import SentencePieceTokenizer

from .conftest import SENTENCES, SPM_SPECIAL_SENTENCES

TEXTS = SENTENCES + SPM_SPECIAL_SENTENCES


@pytest.fixture(scope='module', params=['unigram', 'bpe'])
def pair(request, spm_file, bpe_spm_file):
    path = spm_file if request.param == 'unigram' else bpe_spm_file
    return SentencePieceTokenizer(path), XLMRobertaTokenizer(vocab_file=path)


def test_special_ids_and_vocab_size_are_xlmr_s(pair, spm_file):
    ours, ref = pair
    n = len(spm.SentencePieceProcessor(model_file=ours.vocab_file))
    assert (ours.bos_id, ours.cls_id, ours.pad_id, ours.eos_id, ours.sep_id, ours.unk_id, ours.mask_id) == (
        ref.bos_token_id, ref.cls_token_id, ref.pad_token_id, ref.eos_token_id, ref.sep_token_id, ref.unk_token_id,
        ref.mask_token_id) == (0, 0, 1, 2, 2, 3, n + 1)
    assert ours.vocab_size == ours.num_ids == ref.vocab_size == len(ref) == n + 2
    assert ours.spm_layout_warnings() == []


@pytest.mark.parametrize('text', TEXTS, ids=[repr(t)[:40] for t in TEXTS])
def test_ids_and_pieces_match_the_reference(pair, text):
    ours, ref = pair
    assert ours.tokenize(text) == ref.tokenize(text)
    assert ours.encode(text) == ref.encode(text)
    assert ours.encode(text)[0] == 0 and ours.encode(text)[-1] == 2


def test_unknown_characters_become_unk(pair):
    ours, _ = pair
    assert ours.unk_id in ours.encode('☃ 🙂')
    assert ours.encode('') == ours.encode('   ') == [ours.bos_id, ours.eos_id]


@pytest.mark.parametrize('skip', [True, False])
def test_decode_matches_the_reference(pair, skip):
    ours, ref = pair
    rng = random.Random(0)
    sequences = [ours.encode(t) for t in TEXTS]
    sequences += [[rng.randrange(ours.vocab_size) for _ in range(rng.randint(0, 30))] for _ in range(200)]
    for ids in sequences:
        assert ours.decode(ids, skip_special_tokens=skip) == ref.decode(ids, skip_special_tokens=skip), ids
    assert ours.decode(torch.tensor(sequences[0])) == ref.decode(sequences[0], skip_special_tokens=True)


def test_ids_past_the_vocabulary_read_as_unk(pair):
    ours, _ = pair  # BEiT-3's embedding has 8 rows past the vocabulary a model may still predict
    assert ours.decode([0, ours.vocab_size + 3, 2]) == ''
    assert ours.decode([ours.vocab_size + 3], skip_special_tokens=False) == '<unk>'


@pytest.mark.parametrize('padding', ['max_length', 'longest'])
@pytest.mark.parametrize('max_length', [3, 5, 16, 64])  # at 2 transformers cannot truncate (logs an error)
def test_batches_match_the_reference(pair, padding, max_length):
    ours, ref = pair
    out = ours.encode_batch(TEXTS, max_length=max_length, truncation='silent', padding=padding)
    want = ref(TEXTS, max_length=max_length, truncation=True, padding=padding, return_tensors='pt')
    assert torch.equal(out['input_ids'], want['input_ids'])
    assert torch.equal(out['padding_mask'], want['attention_mask'] == 0)
    assert out['input_ids'].dtype == torch.long and out['padding_mask'].dtype == torch.bool
    assert out['num_truncated'] == sum(len(ref.encode(t)) > max_length for t in TEXTS)


def test_pickles_for_dataloader_workers(pair):
    ours, _ = pair
    again = pickle.loads(pickle.dumps(ours))
    assert [again.encode(t) for t in TEXTS] == [ours.encode(t) for t in TEXTS]
    assert again.decode(again.encode(TEXTS[0])) == ours.decode(ours.encode(TEXTS[0]))


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'nope\.spm.*SentencePiece model'):
        SentencePieceTokenizer(str(tmp_path / 'nope.spm'))


def test_a_vocab_txt_is_refused_with_the_right_class(vocab_file):
    with pytest.raises(ValueError, match=r'vocab\.txt.*not a SentencePiece model.*beitmm\.WordPieceTokenizer'):
        SentencePieceTokenizer(vocab_file)


def test_a_binary_that_is_not_a_model_is_refused(tmp_path):
    path = tmp_path / 'junk.spm'
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ValueError, match=r'junk\.spm.*is not a SentencePiece model'):
        SentencePieceTokenizer(str(path))


def test_a_non_xlmr_layout_is_reported(corpus_file, tmp_path):
    path = tmp_path / 'plain.model'
    spm.SentencePieceTrainer.train(input=corpus_file, model_prefix=str(path)[:-6], vocab_size=200, bos_id=-1,
                                   eos_id=-1, minloglevel=2)
    tok = SentencePieceTokenizer(str(path))
    assert len(tok.spm_layout_warnings()) == 2  # two real pieces at spm ids 1 and 2, shadowed by </s> and <unk>
