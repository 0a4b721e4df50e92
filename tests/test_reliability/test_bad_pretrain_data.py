"""Bad text in pretraining data: unreadable WebDataset captions and start-up checks of texts and shards.

Captions: a ``.json`` member that is not JSON stopped the run at its first step with a bare
``JSONDecodeError``. The family's convention for bad web samples (no image, corrupt image, empty caption) is a counted
skip replaced inside its step, so an unreadable text is one too, named by shard and key (``on_bad_text='error'``
stops instead). Start-up: invalid UTF-8 in ``texts.txt`` and a cut-short shard were named only when reached.
"""
import io
import logging
import os.path as osp
import tarfile

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger

from beitmm.datasets import TextLineDataset, WebDatasetPairs
from beitmm.registry import DATASETS
from beitmm.testing.shrink import ROOT
from beitmm.testing.synthetic_pretrain import make_pretrain_data, shrink_pretrain_config
from beitmm.testing.vl import tiny_tokenizer

BAD_JSON = b'{"caption": "a red box, "key": "000000004"'  # a missing quote


@pytest.fixture(scope='module')
def shards(tmp_path_factory):
    """8 pairs in 2 shards; pair 4 (first of shard 1) has no .txt and a .json member that is not JSON."""
    data = make_pretrain_data(str(tmp_path_factory.mktemp('bad_text') / 'data'), num_pairs=8, num_images=4,
                              num_texts=4, num_shards=2)
    _rewrite(data['shards'][1], '000000004', drop='txt', replace={'json': BAD_JSON})
    return data


def _rewrite(path: str, key: str, drop: str = '', replace: dict = None) -> None:
    """Rewrite a shard with sample ``key``'s ``drop`` member left out and ``replace`` members' bytes replaced."""
    with tarfile.open(path) as tf:
        members = [(m, tf.extractfile(m).read()) for m in tf.getmembers()]
    with tarfile.open(path, 'w') as tf:
        for info, data in members:
            stem, _, ext = info.name.partition('.')
            if stem == key and ext == drop:
                continue
            if stem == key and ext in (replace or {}):
                data = replace[ext]
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def _loader_dataset(data, **source):
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/vl_pretrain_beit3.py'))
    shrink_pretrain_config(cfg, data, tiny_tokenizer('spm'), counts=dict(image=0, text=0, pair=4), webdataset=True)
    cfg.train_dataloader.dataset.sources.pair.update(shuffle_shards=False, **source)
    return DATASETS.build(cfg.train_dataloader.dataset)


class _Log:
    def __enter__(self):
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        MMLogger.get_current_instance().addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        MMLogger.get_current_instance().removeHandler(self.handler)


def test_unreadable_json_member_is_a_counted_skip_replaced_in_its_step(shards):
    from beitmm.engine.hooks.data_health import _corrupt_counters
    ds = _loader_dataset(shards)
    src = ds.sources['pair']
    with _Log() as log:
        steps = [ds.step(s, seed=0) for s in range(2)]  # step 1 holds shard 1: pairs 4-7
    bad = WebDatasetPairs.sample_id((1, 0, '', {}))  # shard 1, sample 0: pair 4
    assert [len(s['pair']) for s in steps] == [4, 4]  # the count stays fixed
    assert [int(x['index']) for x in steps[1]['pair']] == [bad + 1, bad + 1, bad + 2, bad + 3]  # its step-mate
    assert bad not in [int(x['index']) for s in steps for x in s['pair']]
    assert src.num_skipped == 1 and src in _corrupt_counters(ds)  # DataHealthHook reports it
    shard = shards['shards'][1]
    assert (f"Skipped a sample with unreadable text: WebDataset shard '{shard}' sample '000000004': the .json member "
            "is not valid JSON (Expecting ',' delimiter") in log.stream.getvalue()
    assert '(1 skipped so far' in log.stream.getvalue()


def test_unreadable_text_stops_with_shard_and_key_when_asked(shards, tmp_path):
    ds = _loader_dataset(shards, on_bad_text='error')
    ds.step(0, seed=0)
    with pytest.raises(ValueError, match=rf"WebDataset shard '{shards['shards'][1]}' sample '000000004': the .json "
                                         r"member is not valid JSON .*on_bad_text='skip'"):
        ds.step(1, seed=0)
    with pytest.raises(ValueError, match="on_bad_text must be 'skip' or 'error'"):
        WebDatasetPairs(shards['shard_pattern'], on_bad_text='ignore')


@pytest.mark.parametrize('member, data, reason', [
    ('txt', b'caf\xe9', r"the .txt member is not UTF-8 \('utf-8' codec can't decode byte 0xe9 in position 3"),
    ('json', b'{"caption": "caf\xe9"}', 'the .json member is not UTF-8'),
    ('json', b'["a caption"]', 'the .json member is a JSON list, not an object'),
    ('json', b'{"caption": "a \\udcff box"}', r"the caption of the .json member: the text holds '\\udcff'"),
    ('txt', 'a \udcff box'.encode('utf-8', 'surrogatepass'), 'the .txt member is not UTF-8'),
], ids=['txt-latin1', 'json-latin1', 'json-list', 'json-lone-surrogate', 'txt-encoded-surrogate'])
def test_every_unreadable_caption_names_shard_and_key(shards, tmp_path, member, data, reason):
    path = str(tmp_path / 'one.tar')
    with tarfile.open(path, 'w') as tf:
        for name, body in ((f'k0.{member}', data), ('k0.jpg', b'\xff\xd8'), ('k1.txt', b'fine'), ('k1.jpg', b'x')):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tf.addfile(info, io.BytesIO(body))
    src = WebDatasetPairs(path, on_bad_text='error')
    first, second = src.refs(0, 2, 0, 0, 1)
    with pytest.raises(ValueError, match=rf"WebDataset shard '{path}' sample 'k0': {reason}"):
        src.load(first)
    assert src.load(second)['text'] == 'fine'
    skipping = WebDatasetPairs(path)
    assert skipping.load(first) is None and skipping.num_skipped == 1


def test_bad_encoding_in_texts_file_stops_at_start_up(tmp_path):
    path = tmp_path / 'texts.txt'
    lines = [f'text number {i} é'.encode() for i in range(10)]
    lines[7] = b'line eight \xff bad'
    path.write_bytes(b'\n'.join(lines) + b'\n')
    offset = path.read_bytes().index(b'\xff')
    with pytest.raises(ValueError, match=rf"TextLineDataset file '{path}' is not utf-8 text: byte 0xff at byte offset "
                                         rf'{offset} \(line 8\)'):
        TextLineDataset(data_root=str(tmp_path), files='texts.txt')
    from beitmm.datasets.pretrain.texts import line_spans
    for chunk in (1, 2, 3, 5, 64):  # chunk borders inside the two-byte 'é' and inside line 8
        with pytest.raises(ValueError, match=rf'byte offset {offset} \(line 8\)'):
            line_spans(str(path), chunk=chunk, encoding='utf-8')
    path.write_bytes(b'\n'.join(lines[:7] + lines[8:]) + '\nlast line without newline ünï'.encode())
    for chunk in (1, 2, 3, 5, 64):  # valid multi-byte text split across chunks passes
        assert len(line_spans(str(path), chunk=chunk, encoding='utf-8')[0]) == 10
    path.write_bytes(b'\n'.join(lines[:7] + lines[8:]) + b'\n\xc3')  # a character cut at the end of the file
    with pytest.raises(ValueError, match=r'\(line 10\): unexpected end of data'):
        TextLineDataset(data_root=str(tmp_path), files='texts.txt')


def test_verify_shards_names_a_cut_shard_at_start_up(shards, tmp_path):
    cut = str(tmp_path / 'cut-000001.tar')
    with tarfile.open(shards['shards'][1]) as tf:
        last = tf.getmembers()[-1]
    with open(shards['shards'][1], 'rb') as f:
        data = f.read()
    with open(cut, 'wb') as f:  # cut inside the last member, as an interrupted download
        f.write(data[:last.offset_data + last.size // 2])
    listed = [shards['shards'][0], cut]
    WebDatasetPairs(listed)  # off by default: named when reached
    with pytest.raises(ValueError, match=rf"WebDataset shard '{cut}' is not a readable tar file after 3 samples: cut"):
        WebDatasetPairs(listed, verify_shards=True)
    src = WebDatasetPairs(shards['shards'], verify_shards=True)
    assert src._counts == {0: 4, 1: 4}  # the walk counted the samples (skipped unread by later resumes)
