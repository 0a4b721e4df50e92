"""Sentence-pair packing equals transformers' BertTokenizer pairs (ids, token types, longest-first truncation)."""
import pytest
from transformers import BertTokenizer

from beitmm.text import WordPieceTokenizer
from beitmm.text.pairs import encode_pairs, pack_pair

PAIRS = [('a man riding a horse', 'the dog is running in the field'),
         ('Café naïve', ''), ('x ' * 40, 'a photo of a cat'), ('two dogs', 'the dog ' * 30), ('a b c', 'a b c')]


@pytest.mark.parametrize('max_length', [8, 16, 128])
def test_pairs_match_bert_tokenizer(vocab_file, max_length):
    ours, ref = WordPieceTokenizer(vocab_file), BertTokenizer(vocab_file=vocab_file)
    for a, b in PAIRS:
        want = ref(a, b, truncation='longest_first', max_length=max_length)
        ids, types, _ = pack_pair(ours, a, b, max_length)
        assert ids == want['input_ids'] and types == want['token_type_ids'], (a, b)


def test_batch_pads_and_counts_truncation(vocab_file):
    tok, ref = WordPieceTokenizer(vocab_file), BertTokenizer(vocab_file=vocab_file)
    longer = sum(len(ref(a, b)['input_ids']) > 16 for a, b in PAIRS)
    out = encode_pairs(tok, [a for a, _ in PAIRS], [b for _, b in PAIRS], 16)
    assert out['input_ids'].shape == out['token_types'].shape == out['padding_mask'].shape
    assert out['num_truncated'] == tok.num_truncated_total == longer >= 2
    row = out['input_ids'][1]
    assert row[~out['padding_mask'][1]].tolist() == pack_pair(tok, *PAIRS[1], 16)[0]
    assert (row[out['padding_mask'][1]] == tok.pad_id).all()
    with pytest.raises(ValueError, match='2 first texts but 1'):
        encode_pairs(tok, ['a', 'b'], ['c'], 16)
