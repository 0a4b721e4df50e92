"""TextClassificationDataset: JSON lines with int or named labels, a classes header, clear errors."""
import json

import pytest

from beitmm.datasets import TextClassificationDataset


def _write(path, rows):
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return str(path)


def test_named_labels_are_sorted_and_numbered(tmp_path):
    f = _write(tmp_path / 'a.jsonl', [dict(text=' a red circle ', label='red'), dict(text='x', label='blue')])
    ds = TextClassificationDataset(f, pipeline=[])
    assert [ds[i]['gt_label'] for i in range(2)] == [1, 0]
    assert ds[0]['text'] == 'a red circle' and ds.metainfo['classes'] == ('blue', 'red')


def test_classes_header_and_int_labels(tmp_path):
    rows = [dict(classes=['no', 'yes']), dict(text='t', label='yes'), dict(text='u', label=0)]
    f = _write(tmp_path / 'a.jsonl', rows)
    ds = TextClassificationDataset(f, pipeline=[])
    assert [ds[i]['gt_label'] for i in range(2)] == [1, 0] and ds[1]['line'] == 1


@pytest.mark.parametrize('row,words', [(dict(text='t'), 'expected an object'), (dict(text='t', label='green'),
                                                                                 "label 'green' is not one"),
                                       (dict(text='t', label=5), 'label 5 outside')])
def test_bad_rows_name_the_line(tmp_path, row, words):
    f = _write(tmp_path / 'a.jsonl', [dict(text='ok', label='red'), row])
    with pytest.raises(ValueError, match=words) as e:
        TextClassificationDataset(f, classes=['red', 'blue'], pipeline=[])
    assert 'line 2' in str(e.value)


def test_undecodable_byte_and_lone_surrogate_name_file_and_line(tmp_path):
    good = json.dumps(dict(text='ok', label='red')).encode() + b'\n'
    bad = tmp_path / 'latin1.jsonl'
    bad.write_bytes(good + b'{"text": "caf\xe9", "label": "red"}\n')
    with pytest.raises(ValueError, match=r"latin1\.jsonl' is not utf-8 text: byte 0xe9 .*\(line 2\)"):
        TextClassificationDataset(str(bad), pipeline=[])
    sur = tmp_path / 'surrogate.jsonl'
    sur.write_bytes(good + b'{"text": "a \\udcff b", "label": "red"}\n')  # a valid JSON escape, not text
    with pytest.raises(ValueError, match=r"surrogate\.jsonl line 2: the text holds '\\udcff'"):
        TextClassificationDataset(str(sur), pipeline=[])
