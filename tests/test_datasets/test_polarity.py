"""PolarityDataset on gensim's real pang_lee_polarity.cor: the fixed per-label 80 / 20 split in file order."""
import pytest

from beitmm.datasets import PolarityDataset
from beitmm.datasets.real_files import MISSING_HINT, polarity_file


def test_real_file_split_is_balanced_and_disjoint():
    if polarity_file() is None:
        pytest.skip(f'gensim test data missing: {MISSING_HINT}')
    train, test = PolarityDataset(split='train'), PolarityDataset(split='test')
    assert (len(train), len(test)) == (160, 40)
    labels = [[d['gt_label'] for d in ds] for ds in (train, test)]
    assert [lab.count(1) for lab in labels] == [80, 20]
    assert {d['line'] for d in train}.isdisjoint(d['line'] for d in test)
    with open(polarity_file(), encoding='cp1252') as f:
        lines = f.read().splitlines()
    # the file holds 100 negatives then 100 positives; test = lines 81-100 and 181-200
    assert sorted(d['line'] for d in test) == list(range(81, 101)) + list(range(181, 201))
    assert train[0]['text'] == lines[0].split(' ', 1)[1].strip() == 'simplistic , silly and tedious .'
    assert train.metainfo['classes'] == ('neg', 'pos') and train[0]['gt_label'] == 0
    texts = [train[i]['text'] for i in range(len(train))] + [test[i]['text'] for i in range(len(test))]
    assert sum(t.count('\u2014') for t in texts) == 3  # the file's three 0x97 bytes are cp1252 em dashes


def test_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / 'p.cor'
    path.write_text('__label__pos fine .\n__label__meh odd .\n', encoding='cp1252')
    with pytest.raises(ValueError, match='p.cor line 2'):
        PolarityDataset(ann_file=str(path))
