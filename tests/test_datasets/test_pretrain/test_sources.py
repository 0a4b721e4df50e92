"""The pretraining sources: JSON-lines / JSON-list / img2dataset-folder pairs, text files, WebDataset shards."""
import io
import json
import os
import os.path as osp
import shutil
import tarfile

import pytest

from beitmm.datasets.pretrain import ImageTextPairDataset, TextLineDataset, WebDatasetPairs
from beitmm.datasets.pretrain.webdataset import expand_shards


def test_jsonl_pairs_match_the_written_captions(pretrain_data):
    ds = ImageTextPairDataset(data_root=pretrain_data['root'], ann_file='pairs.jsonl',
                              data_prefix=dict(img_path='pair_images'))
    assert len(ds) == 24
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        key = osp.splitext(osp.basename(info['img_path']))[0]
        assert info['text'] == pretrain_data['captions'][key] and osp.isfile(info['img_path'])


def test_json_list_and_img2dataset_folder_layouts(pretrain_data, tmp_path):
    with open(pretrain_data['pairs_jsonl']) as f:
        rows = [json.loads(line) for line in f]
    rows[0]['caption'] = [rows[0]['caption'], 'A second caption.']  # a list: one pair per caption
    (tmp_path / 'list.json').write_text(json.dumps(rows))
    ds = ImageTextPairDataset(data_root=str(tmp_path), ann_file='list.json',
                              data_prefix=dict(img_path=pretrain_data['pair_images']))
    assert len(ds) == 25 and ds.get_data_info(1)['text'] == 'A second caption.'
    folder = tmp_path / '00000'  # img2dataset output_format="files": key.jpg + key.txt
    folder.mkdir()
    for key in ('000000000', '000000001', '000000002'):
        shutil.copy(osp.join(pretrain_data['pair_images'], f'{key}.jpg'), folder)
        if key != '000000002':  # no caption: left out
            (folder / f'{key}.txt').write_text(pretrain_data['captions'][key] + '\n')
    ds = ImageTextPairDataset(data_root=str(tmp_path), data_prefix=dict(img_path='.'))
    expected = [pretrain_data['captions'][k] for k in ('000000000', '000000001')]
    assert [ds.get_data_info(i)['text'] for i in range(len(ds))] == expected


def test_pair_errors_name_the_problem(pretrain_data, tmp_path):
    (tmp_path / 'bad.jsonl').write_text('{"image": "000000000.jpg"}\n')
    with pytest.raises(KeyError, match=r"line 1.*caption"):
        ImageTextPairDataset(data_root=str(tmp_path), ann_file='bad.jsonl',
                             data_prefix=dict(img_path=pretrain_data['pair_images']))
    with pytest.raises(FileNotFoundError, match='first pair'):
        ImageTextPairDataset(data_root=pretrain_data['root'], ann_file='pairs.jsonl', data_prefix=dict(img_path='.'))


def test_text_lines_skip_or_reject_empty_lines(tmp_path):
    (tmp_path / 'a.txt').write_text('first text\n\n  \nsecond text\n')
    (tmp_path / 'b.txt').write_text('third text\n')
    ds = TextLineDataset(data_root=str(tmp_path), files=['*.txt'])
    assert [ds.get_data_info(i)['text'] for i in range(len(ds))] == ['first text', 'second text', 'third text']
    assert ds.num_empty == 2 and ds.get_data_info(1)['source'].endswith('a.txt:4')
    with pytest.raises(ValueError, match=r"a\.txt' line 2 is empty"):
        TextLineDataset(data_root=str(tmp_path), files=['a.txt'], empty_lines='error')
    with pytest.raises(FileNotFoundError, match='matches no file'):
        TextLineDataset(data_root=str(tmp_path), files=['*.md'])


def test_shards_by_brace_pattern_glob_and_list(pretrain_data):
    by_brace = expand_shards(pretrain_data['shard_pattern'])
    assert by_brace == pretrain_data['shards']
    assert expand_shards(osp.join(osp.dirname(by_brace[0]), '*.tar')) == by_brace
    with pytest.raises(FileNotFoundError, match='pairs-000009.tar'):
        expand_shards(by_brace[:1] + [by_brace[0].replace('000000', '000009')])


def test_shard_stream_holds_every_pair_once_per_epoch(pretrain_data):
    src = WebDatasetPairs(pretrain_data['shard_pattern'])
    refs = src.refs(0, 48, seed=0, rank=0, world_size=1)  # two epochs
    keys = [r[2] for r in refs]
    assert sorted(keys[:24]) == sorted(pretrain_data['captions']) == sorted(keys[24:])
    assert keys[:24] != keys[24:]  # the shard order is reshuffled per epoch
    for ref in refs[:24]:
        raw = src.load(ref)
        assert raw['text'] == pretrain_data['captions'][ref[2]]
        with open(osp.join(pretrain_data['pair_images'], f'{ref[2]}.jpg'), 'rb') as f:
            assert raw['img_bytes'] == f.read()  # the same JPEG in both layouts
    with tarfile.open(pretrain_data['shards'][0]) as tf:  # the data offsets point at the members' bytes
        first = tf.getmembers()[0]
        assert tf.extractfile(first).read() == src._read(0, (first.offset_data, first.size))


def test_shuffle_buffer_is_seeded_and_keeps_the_samples(pretrain_data):
    src = WebDatasetPairs(pretrain_data['shard_pattern'], shuffle_buffer=5)
    a = [r[2] for r in src.refs(0, 24, 3, 0, 1)]
    b = [r[2] for r in WebDatasetPairs(pretrain_data['shard_pattern'], shuffle_buffer=5).refs(0, 24, 3, 0, 1)]
    plain = [r[2] for r in WebDatasetPairs(pretrain_data['shard_pattern']).refs(0, 24, 3, 0, 1)]
    assert a == b and sorted(a) == sorted(plain) and a != plain
    assert [r[2] for r in src.refs(10, 5, 3, 0, 1)] == a[10:15]  # rewinds on a backward request


def test_truncated_tar_is_named(pretrain_data, tmp_path):
    path = tmp_path / 'cut.tar'
    data = open(pretrain_data['shards'][0], 'rb').read()
    path.write_bytes(data[:700])  # the second header is cut short
    with pytest.raises(ValueError, match='cut.tar'):
        WebDatasetPairs(str(path)).refs(0, 3, 0, 0, 1)
    os.remove(path)


def test_loader_reads_shard_bytes_and_skips_missing_files_only_when_asked(pretrain_data, tmp_path):
    from beitmm.datasets.transforms import RobustLoadImageFromFile
    src = WebDatasetPairs(pretrain_data['shard_pattern'])
    raw = src.load(src.refs(0, 1, 0, 0, 1)[0])
    out = RobustLoadImageFromFile()(dict(raw))
    assert out['img'].shape == (32, 32, 3) and 'img_bytes' not in out
    with pytest.raises(FileNotFoundError):
        RobustLoadImageFromFile(on_corrupt='skip')(dict(img_path=str(tmp_path / 'gone.jpg')))
    skipping = RobustLoadImageFromFile(on_corrupt='skip', on_missing='skip')
    assert skipping(dict(img_path=str(tmp_path / 'gone.jpg'))) is None and skipping.num_skipped == 1
    with pytest.raises(ValueError, match='on_missing'):
        RobustLoadImageFromFile(on_missing='skip')


def test_data_health_hook_finds_the_counters_of_every_stream(pretrain_data):
    from mmengine.config import Config

    from beitmm.engine.hooks.data_health import _corrupt_counters
    from beitmm.registry import DATASETS
    from beitmm.testing.shrink import ROOT
    from beitmm.testing.synthetic_pretrain import shrink_pretrain_config
    from beitmm.testing.vl import tiny_tokenizer
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/vl_pretrain_beit3.py'))
    shrink_pretrain_config(cfg, pretrain_data, tiny_tokenizer('spm'))
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    found = _corrupt_counters(ds)
    assert [ds.sources['image'].pipeline.transforms[0], ds.sources['pair'].pipeline.transforms[0]] == found


@pytest.mark.parametrize('fmt', [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_header_reader_matches_tarfile(pretrain_data, tmp_path, fmt):
    from beitmm.datasets.pretrain.tar_reader import tar_members
    path = str(tmp_path / 'x.tar')
    with tarfile.open(path, 'w', format=fmt) as tf:
        for name in ('a/' * 60 + 'k1.jpg', 'dir/k1.txt', 'k2.json'):  # a 180-char path: long name / prefix / pax
            if fmt == tarfile.USTAR_FORMAT and len(name) > 100:
                name = 'p' * 120 + '/k1.jpg'  # ustar: a prefix field
            data = name.encode() * 7
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    for shard in (path, pretrain_data['shards'][0]):  # and a webdataset.TarWriter shard
        with tarfile.open(shard) as tf:
            expected = [(m.name, m.offset_data, m.size) for m in tf.getmembers() if m.isfile()]
        assert list(tar_members(shard)) == expected


def test_counted_shards_are_skipped_whole_with_the_same_result(pretrain_data):
    walk = WebDatasetPairs(pretrain_data['shard_pattern']).refs(0, 24 * 5 + 3, 0, 0, 1)
    src = WebDatasetPairs(pretrain_data['shard_pattern'])
    for start in (0, 7, 8, 23, 24, 48, 64, 71, 72, 120):  # shard and epoch boundaries (8 pairs a shard)
        assert src.refs(start, 3, 0, 0, 1) == walk[start:start + 3], start
    assert src._counts == {0: 8, 1: 8, 2: 8}


def test_caption_from_the_json_member_when_there_is_no_txt(tmp_path):
    import webdataset as wds
    path = str(tmp_path / 'meta-000000.tar')
    with wds.TarWriter(path) as sink:
        sink.write({'__key__': 'k0', 'png': b'\x89PNG\r\n\x1a\n', 'json': {'caption': ' A blue square. '}})
        sink.write({'__key__': 'k1', 'json': {'url': 'http://x'}})  # neither: an empty text (MaskText skips it)
    src = WebDatasetPairs(path)
    first, second = (src.load(r) for r in src.refs(0, 2, 0, 0, 1))
    assert first['text'] == 'A blue square.' and first['img_bytes'] == b'\x89PNG\r\n\x1a\n'
    assert first['img_path'].endswith('meta-000000.tar:k0.png')
    assert second['text'] == '' and second['img_bytes'] is None


@pytest.mark.parametrize('content', [b'a\nbb\n\n  \r\nccc', b'one\r\ntwo\r\n', b'', b'\n\n',
                                     b'x' * 50 + b'\n' + b' ' * 3])
def test_line_spans_match_a_python_loop(tmp_path, content):
    from beitmm.datasets.pretrain.texts import line_spans
    path = tmp_path / 't.txt'
    path.write_bytes(content)
    starts, lengths = line_spans(str(path), chunk=4)  # tiny chunks: breaks across chunk borders
    expected, offset = [], 0
    for raw in content.splitlines(keepends=True):
        body = raw.rstrip(b'\n')
        expected.append((offset, len(body) if body.strip() else 0))
        offset += len(raw)
    assert list(zip(starts.tolist(), lengths.tolist(), strict=True)) == expected


def test_pipe_shards_stream_the_same_samples(pretrain_data):
    local = WebDatasetPairs(pretrain_data['shard_pattern'], shuffle_buffer=4)
    piped = WebDatasetPairs('pipe:cat ' + pretrain_data['shard_pattern'], shuffle_buffer=4)
    assert piped.shards == ['pipe:cat ' + p for p in pretrain_data['shards']]
    ra, rb = local.refs(0, 30, 1, 0, 1), piped.refs(0, 30, 1, 0, 1)
    assert [r[2] for r in ra] == [r[2] for r in rb]
    for x, y in zip(ra, rb, strict=True):
        a, b = local.load(x), piped.load(y)
        assert a['img_bytes'] == b['img_bytes'] and a['text'] == b['text']
    later = WebDatasetPairs('pipe:cat ' + pretrain_data['shard_pattern'], shuffle_buffer=4).refs(17, 5, 1, 0, 1)
    assert [r[2] for r in later] == [r[2] for r in ra[17:22]]  # resumes mid-stream (reads the bytes before)
    with pytest.raises(ValueError, match='not a readable tar'):
        WebDatasetPairs('pipe:head -c 2000 ' + pretrain_data['shards'][0]).refs(0, 3, 0, 0, 1)
