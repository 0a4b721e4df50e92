r"""Bad text encoding in the VL annotation files: stopped at start-up, naming the file, line / byte and sample.

A non-UTF-8 byte in a JSON file used to stop with a bare ``UnicodeDecodeError``
naming no file; a lone surrogate (``"\udcff"``, a valid JSON escape but no encodable text) in a question used to
load, then crash inside SentencePiece at the first batch with "Unable to cast Python instance of type <class 'str'> to
C++ type". The defects are planted in the files as a user meets them; the expected offsets are found in the bytes.
"""
import json
import os
import os.path as osp

import pytest

from beitmm.datasets import NLVR2, ImageTextPairDataset, KarpathyCaption, UnlabeledImageFolder, VQAv2
from beitmm.datasets.vl import read_answer_file
from tests.test_datasets.test_vl.test_vqav2 import make_vqa

QUESTIONS = osp.join('vqa', 'v2_OpenEnded_mscoco_train2014_questions.json')


def _plant_byte(path: str, before: bytes) -> int:
    """Put byte 0xFF right before the first ``before`` of the file; returns its byte offset."""
    with open(path, 'rb') as f:
        data = f.read()
    offset = data.index(before)
    with open(path, 'wb') as f:
        f.write(data[:offset] + b'\xff' + data[offset:])
    return offset


def _offset(path) -> int:
    """Byte offset of the first byte of ``path`` that is not ASCII."""
    with open(path, 'rb') as f:
        return next(i for i, b in enumerate(f.read()) if b > 127)


def _line_of(path: str, offset: int) -> int:
    with open(path, 'rb') as f:
        return f.read()[:offset].count(b'\n') + 1


def test_non_utf8_byte_in_vqa_questions_names_file_and_offset(tmp_path):
    root = make_vqa(tmp_path / 'coco')
    path = osp.join(root, QUESTIONS)
    offset = _plant_byte(path, b'How many dogs')
    with pytest.raises(ValueError) as err:
        VQAv2(root, split='train', min_answer_count=1)
    assert f"VQAv2 file '{path}' is not utf-8 text: byte 0xff at byte offset {offset} (line 1)" in str(err.value)


def test_non_utf8_byte_in_json_lines_names_file_and_line(tmp_path):
    rows = [dict(identifier=f'dev-1-{i}-0', sentence=f'Statement {i}.', label='True') for i in range(4)]
    path = tmp_path / 'dev.json'
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    offset = _plant_byte(str(path), b'Statement 2')
    assert _line_of(str(path), offset) == 3
    with pytest.raises(ValueError, match=rf"NLVR2 file '{path}' is not utf-8 text: byte 0xff at byte offset "
                                         rf'{offset} \(line 3\)'):
        NLVR2(str(tmp_path), split='dev', check_images=False)
    pairs = tmp_path / 'pairs.jsonl'  # ImageTextPairDataset reads JSON lines with the same reader
    pairs.write_bytes(b'{"image": "a.jpg", "caption": "fine"}\n{"image": "b.jpg", "caption": "caf\xe9"}\n')
    with pytest.raises(ValueError, match=r"image-text pairs file '.*pairs.jsonl' is not utf-8 text: byte 0xe9 at "
                                         rf'byte offset {_offset(pairs)} \(line 2\)'):
        ImageTextPairDataset(data_root=str(tmp_path), ann_file='pairs.jsonl')


def test_non_utf8_byte_in_the_other_text_readers(tmp_path):
    """Karpathy JSON, JSON-list pairs, img2dataset caption files, the answer vocabulary and image lists."""
    karpathy = tmp_path / 'dataset_coco.json'
    karpathy.write_bytes(b'{"images": [{"filename": "a.jpg", "split": "train", "imgid": 0, "sentences": '
                         b'[{"raw": "A d\xf6g.", "sentid": 0}]}]}')
    with pytest.raises(ValueError, match=r"KarpathyCaption annotation file '.*dataset_coco.json' is not utf-8 text: "
                                         rf'byte 0xf6 at byte offset {_offset(karpathy)} \(line 1\)'):
        KarpathyCaption(str(tmp_path), check_images=False)
    listed = tmp_path / 'pairs.json'
    listed.write_bytes(b'[{"image": "a.jpg",\n "caption": "\x80"}]')
    with pytest.raises(ValueError, match=rf"'.*pairs.json' is not utf-8 text: byte 0x80 at byte offset "
                                         rf'{_offset(listed)} \(line 2\)'):
        ImageTextPairDataset(data_root=str(tmp_path), ann_file='pairs.json')
    folder = tmp_path / 'img2dataset' / '00000'
    os.makedirs(folder)
    from PIL import Image
    Image.new('RGB', (4, 4)).save(folder / '000000000.jpg')
    (folder / '000000000.txt').write_bytes(b'a caf\xe9')
    with pytest.raises(ValueError, match=r"caption file '.*000000000.txt' is not utf-8 text: byte 0xe9 at byte "
                                         r'offset 5 \(line 1\)'):  # b'a caf' before it
        ImageTextPairDataset(data_root=str(tmp_path), data_prefix=dict(img_path='img2dataset'))
    answers = tmp_path / 'answer2label.txt'
    answers.write_bytes(b'{"answer": "yes", "label": 0}\n{"answer": "n\xff", "label": 1}\n')
    with pytest.raises(ValueError, match=r"Answer file '.*answer2label.txt' is not utf-8 text: byte 0xff at byte "
                                         rf'offset {_offset(answers)} \(line 2\)'):
        read_answer_file(str(answers))
    image_list = tmp_path / 'list.txt'
    image_list.write_bytes(b'a.jpg\nb\xff.jpg\n')
    with pytest.raises(ValueError, match=r"Image list file '.*list.txt' is not utf-8 text: byte 0xff at byte offset 7 "
                                         r'\(line 2\)'):  # b'a.jpg\nb' before it
        UnlabeledImageFolder(data_root=str(tmp_path), ann_file='list.txt')


def _replace_question(root: str, question_id: int, text: str) -> None:
    path = osp.join(root, QUESTIONS)
    with open(path) as f:
        doc = json.load(f)
    for q in doc['questions']:
        if q['question_id'] == question_id:
            q['question'] = text
    with open(path, 'w') as f:
        json.dump(doc, f)  # ensure_ascii: the lone surrogate is written as the valid escape \udcff


def test_lone_surrogate_in_a_question_names_question_id_and_file(tmp_path):
    root = make_vqa(tmp_path / 'coco')
    _replace_question(root, 1001, 'How many d\udcffgs?')
    assert '"How many d\\udcffgs?"' in open(osp.join(root, QUESTIONS)).read()
    with pytest.raises(ValueError) as err:
        VQAv2(root, split='train', min_answer_count=1)
    message = str(err.value)
    assert f"'{osp.join(root, QUESTIONS)}' questions[1]: question_id 1001: the text holds '\\udcff' at character 10" \
        in message and "'How many d\\udcffgs?'" in message


def test_lone_surrogate_in_captions_and_statements_names_the_sample(tmp_path):
    nlvr = tmp_path / 'dev.json'
    nlvr.write_text(json.dumps(dict(identifier='dev-1-0-0', sentence='ok', label='True')) + '\n'
                    + json.dumps(dict(identifier='dev-1-1-0', sentence='bad \udcff', label='False')) + '\n')
    with pytest.raises(ValueError, match=r"NLVR2 '.*dev.json' line 2 \(identifier 'dev-1-1-0'\): the text holds "
                                         r"'\\udcff' at character 4"):
        NLVR2(str(tmp_path), split='dev', check_images=False)
    karpathy = tmp_path / 'dataset_coco.json'
    karpathy.write_text(json.dumps(dict(images=[dict(filename='a.jpg', split='train', imgid=7, sentences=[
        dict(raw='A dog.', sentid=0), dict(raw='\ud800 cat', sentid=1)])])))
    with pytest.raises(ValueError, match=r"KarpathyCaption '.*dataset_coco.json' images\[0\] \(imgid 7, 'a.jpg'\): "
                                         r"sentid 1: the text holds '\\ud800' at character 0"):
        KarpathyCaption(str(tmp_path), check_images=False)
    pairs = tmp_path / 'pairs.jsonl'
    pairs.write_text(json.dumps(dict(image='a.jpg', caption=['fine', 'x\udfff'])) + '\n')
    with pytest.raises(ValueError, match=r"'.*pairs.jsonl' line 1: the text holds '\\udfff' at character 1"):
        ImageTextPairDataset(data_root=str(tmp_path), ann_file='pairs.jsonl')


def test_tokenizers_name_the_text_instead_of_the_cpp_cast_error():
    """The last guard: a lone surrogate reaching a tokenizer from a source without the load-time check."""
    from beitmm.registry import TEXT_TOKENIZERS
    from beitmm.testing.vl import tiny_tokenizer
    spm = TEXT_TOKENIZERS.build(tiny_tokenizer('spm'))
    with pytest.raises(RuntimeError, match='Unable to cast Python instance'):  # what SentencePiece itself does
        spm._sp.encode('a red \udcff box')
    for call in (lambda t: t.encode_batch(['fine', 'a red \udcff box']), lambda t: t.tokenize('a red \udcff box'),
                 lambda t: t.encode_plain('a red \udcff box')):
        with pytest.raises(ValueError, match=r"SentencePieceTokenizer.*the text holds '\\udcff' at character 6, which "
                                             r"is not encodable text .*: \.\.\.'a red \\udcff box'"):
            call(spm)
    wordpiece = TEXT_TOKENIZERS.build(tiny_tokenizer('wordpiece'))
    with pytest.raises(ValueError, match=r"WordPieceTokenizer.encode: the text holds '\\udcff'"):
        wordpiece.encode_batch(['a red \udcff box'])
    assert spm.encode_batch(['a café, naïve'])['input_ids'].shape == (1, 64)  # encodable non-ASCII text passes
