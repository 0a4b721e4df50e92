"""The ELECTRA demo on real text: the Lee-corpus sentences, and a short run of ``--electra-text real``."""
import json
import os
import os.path as osp
import re

import pytest

from beitmm.datasets.real_files import gensim_data_dir, polarity_file
from tools.demo.__main__ import main
from tools.demo.electra_real import split_sentences, write_real_corpus

needs_gensim = pytest.mark.skipif(gensim_data_dir() is None or polarity_file() is None,
                                  reason='gensim test data missing: pip install --no-deps -r '
                                         'requirements/realdata.txt')


def test_split_sentences_by_hand():
    para = ('The U.S. Senate met on Monday. "It was long," Mr. Smith said! Was it? Yes. '
            'Brian Greig, 32, leads a party of seven.')
    # a full stop, white space, a capital: a break, also after "U.S." and "Mr." (the rule's known limit); pieces
    # under 3 words ('The U.S.', 'Smith said!', 'Was it?', 'Yes.') go
    assert split_sentences(para) == ['Senate met on Monday.', '"It was long," Mr.',
                                     'Brian Greig, 32, leads a party of seven.']
    assert split_sentences('One two three. Four five six? A b.') == ['One two three.', 'Four five six?']
    assert split_sentences('no end here and lower. case after') == ['no end here and lower. case after']
    assert split_sentences('Two words. Three words here.', min_words=2) == ['Two words.', 'Three words here.']


@needs_gensim
def test_real_corpus_is_the_lee_sentences_without_the_polarity_ones(tmp_path):
    sizes = write_real_corpus(str(tmp_path))
    lines = (tmp_path / 'corpus.source').read_text(encoding='utf-8').splitlines()
    raw = ''.join(open(osp.join(gensim_data_dir(), n), encoding=e).read() for n, e in
                  (('lee_background.cor', 'ascii'), ('lee.cor', 'latin-1')))
    assert sizes['paragraphs'] == 350 and sizes['sentences'] == len(lines) > 2500
    assert sizes['words'] == sum(len(s.split()) for s in lines)
    assert all(len(s.split()) >= 3 and s in raw for s in lines)  # verbatim pieces of the Lee files
    assert any('£' in s for s in lines)  # lee.cor's Latin-1 byte 0xA3 decoded
    corpus = ' '.join(lines).lower()
    with open(polarity_file(), encoding='cp1252') as f:
        polarity = [line.split(' ', 1)[1].strip().lower() for line in f if line.strip()]
    assert len(polarity) == 200
    assert not [p for p in polarity if p[:40] in corpus]  # no downstream test sentence in the pretraining text


@needs_gensim
def test_real_text_demo_prints_the_table(tmp_path, monkeypatch, capsys):
    """10 pretraining iterations (one logging interval) of one setting, 2 polarity iterations: the table."""
    monkeypatch.setattr(os, 'environ', dict(os.environ))  # main() holds the kernels to AVX2 for the stages
    main(['--task', 'electra', '--electra-text', 'real', '--electra-settings', 'plain', '--electra-iters', '10',
          '--electra-cls-iters', '2', '--electra-cim-epochs', '0', '--jobs', '2', '--out', str(tmp_path / 'out'),
          '--data', str(tmp_path / 'data')])
    stdout = capsys.readouterr().out
    rows = {}
    for line in stdout.splitlines():
        m = re.match(r'\s+real\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$', line)
        if m:
            rows[m[1]] = m.groups()[1:]
    assert set(rows) == {'plain', 'scratch', 'chance'}, stdout[-3000:]
    seed, resample, dacc, drepl, down = rows['plain']
    assert seed == '0' and 0 <= float(resample) <= 1 and 0 <= float(dacc) <= 1 and 0 <= float(drepl) <= 1
    assert 0 <= float(down) <= 100 and float(down) * 40 / 100 == pytest.approx(round(float(down) * 0.4), abs=0.05)
    assert rows['scratch'][:4] == ('0', '-', '-', '-') and 0 <= float(rows['scratch'][4]) <= 100
    assert rows['chance'] == ('-', '-', '-', '-', '50.0')
    results = json.load(open(tmp_path / 'out' / 'electra' / 'real_results.json'))
    assert set(results['text']) == {'plain_s0', 'scratch_s0'} and results['cim'] == {}
    assert results['text']['plain_s0']['downstream'] == pytest.approx(float(down), abs=0.05)
    assert osp.isfile(tmp_path / 'out' / 'electra' / 'real_electra_curves.png')
    vocab = (tmp_path / 'data' / 'electra_real' / 'vocab.txt').read_text(encoding='utf-8').splitlines()
    assert len(vocab) == 4000 and vocab[:5] == ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
