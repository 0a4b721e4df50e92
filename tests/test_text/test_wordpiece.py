"""beitmm.WordPieceTokenizer against transformers.BertTokenizer (VLMo's tokenizer) on tiny vocabularies."""
import pickle
import random
import unicodedata

import pytest
import torch
from transformers import BertTokenizer, BertTokenizerFast

from beitmm.text import WordPieceTokenizer

from .conftest import BERT_SPECIAL_SENTENCES, SENTENCES

TEXTS = SENTENCES + BERT_SPECIAL_SENTENCES
# Blocks whose characters Unicode assigned by version 8 (the tables of HF tokenizers): Latin, combining marks,
# Greek, Cyrillic, general punctuation, CJK symbols, kana, CJK ideographs and compatibility ideographs, Hangul,
# emoji; plus whitespace and control characters. Unassigned code points (Cn) are left out (see the divergence test).
POOL = ([chr(c) for r in ((0x20, 0x7f), (0xa0, 0x250), (0x300, 0x370), (0x391, 0x3ca), (0x400, 0x460),
                          (0x2000, 0x2065), (0x3000, 0x3040), (0x3041, 0x3097), (0x4e00, 0x4e40), (0xf900, 0xf910),
                          (0xac00, 0xac20), (0x1f600, 0x1f650)) for c in range(*r)
         if unicodedata.category(chr(c)) != 'Cn']
        + list('\t\n\r\x00\x7f\u200b\ufffd') + ['a', 'e', ' '] * 40)


@pytest.fixture(scope='module', params=['uncased', 'cased'])
def pair(request, vocab_file, cased_vocab_file):
    if request.param == 'uncased':
        return WordPieceTokenizer(vocab_file), BertTokenizer(vocab_file=vocab_file)
    return (WordPieceTokenizer(cased_vocab_file, lowercase=False),
            BertTokenizer(vocab_file=cased_vocab_file, do_lower_case=False))


def test_special_ids_and_vocab_size_are_berts(pair):
    ours, ref = pair
    assert (ours.cls_id, ours.bos_id, ours.sep_id, ours.eos_id, ours.pad_id, ours.unk_id, ours.mask_id) == (
        ref.cls_token_id, ref.cls_token_id, ref.sep_token_id, ref.sep_token_id, ref.pad_token_id, ref.unk_token_id,
        ref.mask_token_id) == (2, 2, 3, 3, 0, 1, 4)
    assert ours.vocab_size == ours.num_ids == ref.vocab_size == len(ref) == 300


@pytest.mark.parametrize('text', TEXTS, ids=[repr(t)[:40] for t in TEXTS])
def test_ids_and_pieces_match_the_reference(pair, text):
    ours, ref = pair
    assert ours.tokenize(text) == ref.tokenize(text)
    assert ours.encode(text) == ref.encode(text)


def test_random_text_matches_the_reference(pair):
    ours, ref = pair
    rng = random.Random(0)
    for _ in range(1500):
        text = ''.join(rng.choice(POOL) for _ in range(rng.randint(0, 40)))
        assert ours.encode(text) == ref.encode(text), repr(text)


def test_bert_conventions_hold(pair):
    ours, _ = pair
    assert ours.encode('') == [ours.cls_id, ours.sep_id]
    assert ours.tokenize('a' * 101) == ['[UNK]'] and ours.tokenize('a' * 100) == ['a'] + ['##a'] * 99
    assert ours.tokenize('北京大学') == ['北', '京', '大', '学']
    if ours.lowercase:
        assert ours.encode('CAFÉ') == ours.encode('cafe')
    else:
        assert ours.encode('CAFÉ') != ours.encode('cafe')


def test_unicode_after_version_8_follows_bert_tokenizer_not_fast(vocab_file):
    """The former gap: HF tokenizers' Unicode 8 tables; ours run on Python's, as BertTokenizer does."""
    ours, slow = WordPieceTokenizer(vocab_file), BertTokenizer(vocab_file=vocab_file)
    fast = BertTokenizerFast(vocab_file=vocab_file)
    for text in ['a\u2e43a', 'a\u1abfa', 'a\u0378a', '\U0002b820\U0002b821']:  # Unicode 10+, unassigned, CJK Ext E
        assert ours.encode(text) == slow.encode(text) != fast.encode(text), repr(text)


@pytest.mark.parametrize('skip', [True, False])
def test_decode_matches_the_reference(pair, skip):
    ours, ref = pair
    rng = random.Random(0)
    sequences = [ours.encode(t) for t in TEXTS]
    sequences += [[rng.randrange(ours.vocab_size) for _ in range(rng.randint(0, 30))] for _ in range(300)]
    sequences += [[rng.choice([5, 8, 10, 11, 13, 14, ours.mask_id]) for _ in range(8)] for _ in range(100)]
    for ids in sequences:
        assert ours.decode(ids, skip_special_tokens=skip) == ref.decode(ids, skip_special_tokens=skip), ids
    assert ours.decode([ours.vocab_size + 7], skip_special_tokens=False) == '[UNK]'


@pytest.mark.parametrize('padding', ['max_length', 'longest'])
@pytest.mark.parametrize('max_length', [3, 6, 40])  # at 2 transformers cannot truncate (logs an error)
def test_batches_match_the_reference(pair, padding, max_length):
    ours, ref = pair
    out = ours.encode_batch(TEXTS, max_length=max_length, truncation='silent', padding=padding)
    want = ref(TEXTS, max_length=max_length, truncation=True, padding=padding, return_tensors='pt')
    assert torch.equal(out['input_ids'], want['input_ids'])
    assert torch.equal(out['padding_mask'], want['attention_mask'] == 0)


def test_pickles_for_dataloader_workers(pair):
    ours, _ = pair
    again = pickle.loads(pickle.dumps(ours))
    assert [again.encode(t) for t in TEXTS] == [ours.encode(t) for t in TEXTS]


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'vocab\.txt.*does not exist'):
        WordPieceTokenizer(str(tmp_path / 'vocab.txt'))


def test_a_sentencepiece_model_is_refused_with_the_right_class(spm_file):
    with pytest.raises(ValueError, match=r'tiny\.spm.*beitmm\.SentencePieceTokenizer'):
        WordPieceTokenizer(spm_file)


def test_a_vocab_without_the_special_tokens_is_refused(tmp_path):
    path = tmp_path / 'words.txt'
    path.write_text('[PAD]\n[UNK]\nhello\nworld\n')
    with pytest.raises(ValueError, match=r'words\.txt.*4 lines.*lacks \[CLS\], \[SEP\], \[MASK\]'):
        WordPieceTokenizer(str(path))
