"""tools/misc/train_text_tokenizer.py end to end: the files it writes load in the transformers references."""
import os.path as osp
import subprocess
import sys

import pytest
from transformers import BertTokenizer, XLMRobertaTokenizer

from beitmm.testing.shrink import ROOT
from beitmm.text import SentencePieceTokenizer, WordPieceTokenizer

from .conftest import SENTENCES

TOOL = osp.join(ROOT, 'tools', 'misc', 'train_text_tokenizer.py')


def _run(*args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out


@pytest.mark.parametrize('kind', ['', 'sentencepiece', 'wordpiece'])
def test_help(kind):
    out = _run(*([kind] if kind else []), '--help')
    assert 'usage' in out.stdout and (not kind or '--vocab-size' in out.stdout)


@pytest.mark.parametrize('model_type', ['unigram', 'bpe'])
def test_sentencepiece_model_loads_in_xlm_roberta_tokenizer(corpus_file, tmp_path, model_type):
    path = str(tmp_path / 'sub' / 'tiny.spm')
    out = _run('sentencepiece', corpus_file, '--out', path, '--vocab-size', '200', '--model-type', model_type)
    assert 'read 400 lines' in out.stdout and '200 SentencePiece pieces, 202 tokenizer ids' in out.stdout
    assert "dict(type='beitmm.SentencePieceTokenizer'" in out.stdout
    ours, ref = SentencePieceTokenizer(path), XLMRobertaTokenizer(vocab_file=path)
    assert ours.vocab_size == ref.vocab_size == 202 and ref.mask_token_id == ours.mask_id == 201
    assert [ours.encode(t) for t in SENTENCES] == [ref.encode(t) for t in SENTENCES]


@pytest.mark.parametrize('cased', [False, True])
def test_wordpiece_vocab_loads_in_bert_tokenizer(corpus_file, tmp_path, cased):
    path = str(tmp_path / 'vocab.txt')
    out = _run('wordpiece', corpus_file, '--out', path, '--vocab-size', '250', *(['--cased'] if cased else []))
    assert 'read 400 lines' in out.stdout and '250 WordPiece tokens' in out.stdout
    ours, ref = WordPieceTokenizer(path, lowercase=not cased), BertTokenizer(vocab_file=path, do_lower_case=not cased)
    assert ours.vocab_size == ref.vocab_size == 250 and (ref.pad_token_id, ref.mask_token_id) == (0, 4)
    assert [ours.encode(t) for t in SENTENCES] == [ref.encode(t) for t in SENTENCES]
    with open(path, encoding='utf-8') as f:
        learned = [line.rstrip('\n') for line in f][5:]  # after [PAD] [UNK] [CLS] [SEP] [MASK]
    assert any(c.isupper() for t in learned for c in t) == cased and ('Ü' in learned) == cased


def test_user_symbols_and_errors(corpus_file, tmp_path):
    path = str(tmp_path / 'sym.model')
    _run('sentencepiece', corpus_file, '--out', path, '--vocab-size', '200', '--user-symbols', '<img>', '--quiet')
    ours = SentencePieceTokenizer(path)
    assert '<img>' in ours.tokenize('a <img> b') and ours.encode('a <img> b') == XLMRobertaTokenizer(path).encode(
        'a <img> b')
    bad = subprocess.run([sys.executable, TOOL, 'sentencepiece', corpus_file, '--out', path, '--vocab-size', '200',
                          '--user-symbols', '<mask>'], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert bad.returncode != 0 and 'clash with the XLM-R special tokens' in bad.stderr
    missing = subprocess.run([sys.executable, TOOL, 'wordpiece', str(tmp_path / 'none.txt'), '--out', path,
                              '--vocab-size', '200'], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert missing.returncode != 0 and 'none.txt' in missing.stderr and 'does not exist' in missing.stderr


def test_a_vocabulary_too_large_for_the_texts_names_the_limit_and_the_fixes(corpus_file, tmp_path):
    from beitmm.text.training import train_sentencepiece
    with pytest.raises(ValueError, match=r'support at most \d+ SentencePiece pieces, not 100000.*--soft-vocab-limit'):
        train_sentencepiece([corpus_file], str(tmp_path / 'big.model'), 100000, log=None)
    assert not osp.exists(tmp_path / 'big.model')
