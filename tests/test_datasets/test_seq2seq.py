"""beitmm.Seq2SeqDataset on tiny files in the released layouts, and its errors on bad input.

Layouts: s2s-ft JSON lines (text and tokenized), line-aligned ``.source`` / ``.target`` (and ``.src`` / ``.tgt``),
UniLM v1's SQuAD QG files.
"""
import json

import pytest

from beitmm.datasets import Seq2SeqDataset, join_wordpieces
from beitmm.registry import DATASETS

# the s2s-ft README's two formats (shortened)
TEXT_JSON = [{'src': 'Chris Erskine crossed low for Kris Doolan .', 'tgt': 'Partick Thistle will finish top six'},
             {'src': 'Media playback is unsupported on your device', 'tgt': 'A slide has been turned into a ride .'}]
TOKENIZED_JSON = [{'src': ['media', 'playback', 'is', 'un', '##su', '##pp', '##orted'],
                   'tgt': ['part', '##ick', 'thistle', 'will', 'finish']}]


def _write(path, lines) -> str:
    path.write_text(''.join(line + '\n' for line in lines), encoding='utf-8')
    return str(path)


def _build(**cfg) -> Seq2SeqDataset:
    return DATASETS.build(dict(type='beitmm.Seq2SeqDataset', **cfg))


def test_join_wordpieces():
    assert join_wordpieces(['un', '##su', '##pp', '##orted', 'on']) == 'unsupported on'
    assert join_wordpieces('doo ##lan  to tap') == 'doolan to tap'


def test_json_text_format(tmp_path):
    path = _write(tmp_path / 'train.json', [json.dumps(x) for x in TEXT_JSON])
    ds = _build(ann_file=path)
    assert len(ds) == 2
    item = ds[1]
    assert item['src'] == 'Media playback is unsupported on your device'
    assert item['tgt'] == 'A slide has been turned into a ride .'
    assert item['line'] == 1 and 'src_tokens' not in item


def test_json_tokenized_format_keeps_pieces(tmp_path):
    path = _write(tmp_path / 'train.uncased_tokenized.jsonl', [json.dumps(x) for x in TOKENIZED_JSON])
    item = _build(ann_file=path)[0]
    assert item['src'] == 'media playback is unsupported'
    assert item['tgt'] == 'partick thistle will finish'
    assert item['src_tokens'] == TOKENIZED_JSON[0]['src'] and item['tgt_tokens'] == TOKENIZED_JSON[0]['tgt']


def test_json_detected_from_content_and_prefix(tmp_path):
    _write(tmp_path / 'dev.data', [json.dumps(TEXT_JSON[0])])
    assert _build(ann_file='dev.data', data_root=str(tmp_path))[0]['tgt'] == TEXT_JSON[0]['tgt']
    _write(tmp_path / 'valid.json', [json.dumps(TEXT_JSON[0])])
    assert _build(ann_file='valid', data_root=str(tmp_path))[0]['src'] == TEXT_JSON[0]['src']


def test_json_decoding_without_tgt_skips_blank_lines(tmp_path):
    path = _write(tmp_path / 'test.json', [json.dumps({'src': 'a b'}), '', json.dumps({'src': 'c d'})])
    ds = _build(ann_file=path, test_mode=True)
    assert [(d['src'], d['line']) for d in ds] == [('a b', 0), ('c d', 1)]
    assert 'tgt' not in ds[0]


def test_source_target_lines(tmp_path):
    # XSum / CNN-DM as HF and fairseq ship them: {split}.source / {split}.target, one example per line
    _write(tmp_path / 'val.source', ['The council said on Monday it would close.', 'Second article .'])
    _write(tmp_path / 'val.target', ['A council is to close.', 'Second summary .'])
    ds = _build(ann_file='val', data_root=str(tmp_path))
    assert [d['src'] for d in ds] == ['The council said on Monday it would close.', 'Second article .']
    assert [d['tgt'] for d in ds] == ['A council is to close.', 'Second summary .']
    assert [d['line'] for d in ds] == [0, 1]
    # explicit source file name, CRLF line ends
    (tmp_path / 'val.target').write_bytes(b'A council is to close.\r\nSecond summary .\r\n')
    assert _build(ann_file=str(tmp_path / 'val.source'))[1]['tgt'] == 'Second summary .'


def test_src_tgt_lines_and_test_without_targets(tmp_path):
    _write(tmp_path / 'train.src', ['x y z'])
    _write(tmp_path / 'train.tgt', ['z y x'])
    assert _build(ann_file=str(tmp_path / 'train.src'))[0]['tgt'] == 'z y x'
    src = _write(tmp_path / 'test.source', ['only a source', ''])
    ds = _build(ann_file=src, test_mode=True)
    assert len(ds) == 2 and 'tgt' not in ds[0] and ds[1]['src'] == '' and ds[1]['line'] == 1


def test_squad_qg_files(tmp_path):
    # UniLM v1 qg/train: paragraph [SEP] answer, and the question, both cased WordPiece-tokenized
    _write(tmp_path / 'train.pa.tok.txt', ['The Nor ##mans were in Normandy . [SEP] Normandy'])
    _write(tmp_path / 'train.q.tok.txt', ['Where were the Nor ##mans ?'])
    item = _build(ann_file='train', data_root=str(tmp_path), data_format='qg')[0]
    assert item['src'] == 'The Normans were in Normandy . [SEP] Normandy'
    assert item['tgt'] == 'Where were the Normans ?'
    assert item['src_tokens'][:3] == ['The', 'Nor', '##mans'] and item['tgt_tokens'][-1] == '?'


def test_target_file_override(tmp_path):
    src = _write(tmp_path / 'articles.txt', ['one', 'two'])
    _write(tmp_path / 'summaries.txt', ['1', '2'])
    ds = _build(ann_file=src, data_format='lines', target_file='summaries.txt', data_root=str(tmp_path))
    assert [d['tgt'] for d in ds] == ['1', '2']


def test_error_empty_target_in_training(tmp_path):
    _write(tmp_path / 'train.source', ['a', 'b', 'c'])
    tgt = _write(tmp_path / 'train.target', ['A', '  ', 'C'])
    with pytest.raises(ValueError, match=f'empty target at {tgt} line 2'):
        _build(ann_file=str(tmp_path / 'train.source'))
    path = _write(tmp_path / 'train.json', [json.dumps({'src': 'a', 'tgt': 'b'}), json.dumps({'src': 'a', 'tgt': []})])
    with pytest.raises(ValueError, match='train.json line 2'):
        _build(ann_file=path)
    path = _write(tmp_path / 'nt.json', [json.dumps({'src': 'a'})])
    with pytest.raises(ValueError, match='missing or empty target at .*nt.json line 1'):
        _build(ann_file=path)


def test_error_missing_target_file(tmp_path):
    _write(tmp_path / 'train.source', ['a'])
    with pytest.raises(FileNotFoundError, match='target file .*train.target of .*train.source does not exist'):
        _build(ann_file=str(tmp_path / 'train.source'))


def test_error_mismatched_line_counts(tmp_path):
    _write(tmp_path / 'test.source', ['a', 'b', 'c'])
    _write(tmp_path / 'test.target', ['A', 'B'])
    with pytest.raises(ValueError, match=r'test.source has 3 lines but .*test.target has 2'):
        _build(ann_file=str(tmp_path / 'test.source'), test_mode=True)


def test_error_invalid_json(tmp_path):
    path = _write(tmp_path / 'train.json', [json.dumps(TEXT_JSON[0]), '{"src": "a", "tgt": ', json.dumps(TEXT_JSON[1])])
    with pytest.raises(ValueError, match='train.json line 2 is not valid JSON'):
        _build(ann_file=path)
    path = _write(tmp_path / 'bad.json', [json.dumps({'source': 'a'})])
    with pytest.raises(ValueError, match='bad.json line 1: expected an object with "src"'):
        _build(ann_file=path)
    path = _write(tmp_path / 'num.json', [json.dumps({'src': 3, 'tgt': 'a'})])
    with pytest.raises(ValueError, match='num.json line 1: "src" must be a string or a list'):
        _build(ann_file=path)


def test_error_non_utf8_byte_names_file_and_line(tmp_path):
    """R4: a Latin-1 byte planted on line 3 of a .source (and of a JSON file) stops naming file and line."""
    (tmp_path / 'train.source').write_bytes('a\nb\ncaf\u00e9 au lait\nd\n'.encode('latin-1'))  # 0xe9 on line 3
    _write(tmp_path / 'train.target', ['A', 'B', 'C', 'D'])
    with pytest.raises(ValueError, match=r'train.source line 3 is not UTF-8 \(byte 0xe9'):
        _build(ann_file=str(tmp_path / 'train.source'))
    (tmp_path / 'bad.json').write_bytes(b'{"src": "a", "tgt": "b"}\r\n{"src": "x", "tgt": "\xff"}\r\n')
    with pytest.raises(ValueError, match=r'bad.json line 2 is not UTF-8 \(byte 0xff'):
        _build(ann_file=str(tmp_path / 'bad.json'))


def test_error_missing_or_unknown_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope does not exist, nor any of'):
        _build(ann_file=str(tmp_path / 'nope'))
    with pytest.raises(ValueError, match='data_format must be one of'):
        _build(ann_file='x', data_format='csv')
    path = _write(tmp_path / 'plain.txt', ['not json'])
    with pytest.raises(ValueError, match='cannot tell the format of .*plain.txt'):
        _build(ann_file=path)
    with pytest.raises(ValueError, match='cannot derive the target file of .*plain.txt'):
        _build(ann_file=path, data_format='lines')
