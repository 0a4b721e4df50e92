"""The shared interface: registry build, truncation counting, empty texts, embedding check, argument errors."""
import subprocess
import sys
from unittest import mock

import pytest
import torch

from beitmm.registry import TEXT_TOKENIZERS
from beitmm.text import SentencePieceTokenizer, WordPieceTokenizer


@pytest.fixture(scope='module', params=['sentencepiece', 'wordpiece'])
def tok(request, spm_file, vocab_file):
    if request.param == 'sentencepiece':
        return TEXT_TOKENIZERS.build(dict(type='beitmm.SentencePieceTokenizer', model_file=spm_file))
    return TEXT_TOKENIZERS.build(dict(type='beitmm.WordPieceTokenizer', vocab_file=vocab_file, lowercase=True))


def test_registry_builds_both(spm_file, vocab_file):
    assert type(TEXT_TOKENIZERS.build(dict(type='beitmm.SentencePieceTokenizer', model_file=spm_file))) is \
        SentencePieceTokenizer
    assert type(TEXT_TOKENIZERS.build(dict(type='WordPieceTokenizer', vocab_file=vocab_file))) is WordPieceTokenizer


def test_registry_resolves_lazily_in_a_fresh_interpreter(spm_file):
    code = ('from beitmm.registry import TEXT_TOKENIZERS\n'
            f'tok = TEXT_TOKENIZERS.build(dict(type="beitmm.SentencePieceTokenizer", model_file={spm_file!r}))\n'
            'print(tok.encode(""))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ['[0,', '2]']


def test_text_is_a_ground_floor_package():
    code = 'import sys, beitmm.text; print(any(m.startswith(("beitmm.models", "beitmm.engine")) for m in sys.modules))'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.split() == ['False'], out.stderr[-2000:]


def test_empty_texts_collate(tok):
    out = tok.encode_batch(['', '   ', 'a photo'], max_length=8)
    assert out['input_ids'][0, :2].tolist() == [tok.bos_id, tok.eos_id] == out['input_ids'][1, :2].tolist()
    assert out['padding_mask'][0].tolist() == [False, False] + [True] * 6
    assert (out['input_ids'][out['padding_mask']] == tok.pad_id).all()
    empty = tok.encode_batch([], max_length=8)
    assert empty['input_ids'].shape == (0, 8) and empty['num_truncated'] == 0
    assert tok.decode_batch(out['input_ids'])[:2] == ['', '']


def test_truncation_keeps_the_special_tokens_and_is_counted(tok):
    long_text = ' '.join(['photo'] * 50)
    with mock.patch('beitmm.text.base.print_log') as log:
        tok.num_truncated_total, tok._next_warning = 0, 1
        counts = [tok.encode_batch([long_text, 'a', long_text], max_length=6)['num_truncated'] for _ in range(3)]
    assert counts == [2, 2, 2] and tok.num_truncated_total == 6
    assert log.call_count == 2  # at 2 (>= 1), at 4 (>= 4), not at 6 (< 8): logged when the total doubles
    assert '2 of 3 texts longer than max_length=6' in log.call_args_list[0].args[0]
    assert '(4 so far; logged again at 8)' in log.call_args_list[1].args[0]
    ids = tok.encode_batch([long_text], max_length=6, truncation='silent')['input_ids'][0]
    assert ids.tolist() == tok.encode(long_text)[:5] + [tok.eos_id]
    with mock.patch('beitmm.text.base.print_log') as log:
        tok.encode_batch([long_text], max_length=6, truncation='silent')
    assert not log.called


def test_truncation_can_be_an_error(tok):
    with pytest.raises(ValueError, match=r'1 of 2 texts are longer than max_length=6 tokens.*longest has \d+'):
        tok.encode_batch([' '.join(['photo'] * 50), 'a'], max_length=6, truncation='error')
    assert tok.encode_batch(['a'], max_length=6, truncation='error')['num_truncated'] == 0


def test_padding_longest(tok):
    out = tok.encode_batch(['a', 'a photo of a dog'], max_length=64, padding='longest')
    assert out['input_ids'].shape == (2, len(tok.encode('a photo of a dog')))


def test_bad_arguments_are_named(tok):
    with pytest.raises(TypeError, match='text 1 of the batch is NoneType'):
        tok.encode_batch(['a', None])
    with pytest.raises(ValueError, match='max_length must be an int >= 2'):
        tok.encode_batch(['a'], max_length=1)
    with pytest.raises(ValueError, match='truncation must be one of'):
        tok.encode_batch(['a'], truncation=True)
    with pytest.raises(ValueError, match='padding must be one of'):
        tok.encode_batch(['a'], padding='right')
    with pytest.raises(ValueError, match='1-D'):
        tok.decode(torch.zeros(2, 3, dtype=torch.long))


def test_check_embedding_names_both_sizes(tok):
    tok.check_embedding(tok.num_ids)
    tok.check_embedding(tok.num_ids + 8)
    with pytest.raises(ValueError, match=rf'tokenizer has {tok.num_ids} ids but the text embedding has 100 rows'):
        tok.check_embedding(100)


def test_check_embedding_official_sizes(spm_file):
    tok = SentencePieceTokenizer(spm_file)
    tok.num_ids = 64002  # what beit3.spm gives (64000 pieces + <pad> + <mask>)
    tok.check_embedding(64010)  # BEiT-3's text embedding: 8 rows unused
    with pytest.raises(ValueError, match=r'tokenizer has 64002 ids but the word embedding has 30522 rows: ids '
                                         r'30522\.\.64001'):
        tok.check_embedding(30522, name='word embedding')
