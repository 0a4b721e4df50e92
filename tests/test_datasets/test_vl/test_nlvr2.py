"""beitmm.NLVR2 on hand-written JSON lines in the lil-lab/nlvr layout."""
import json
import os
import os.path as osp

import pytest
from mmengine.registry import DefaultScope
from PIL import Image

from beitmm.datasets.vl import NLVR2

TRAIN = [dict(identifier='train-10171-0-0', sentence='One image has two dogs.', label='True', directory=21),
         dict(identifier='train-10171-0-1', sentence='Both images are empty.', label='False', directory=21),
         dict(identifier='train-42-3-0', sentence='A cat is left.', label='False', directory=7)]
DEV = [dict(identifier='dev-269-0-0', sentence='There are birds.', label='True'),
       dict(identifier='dev-269-1-1', sentence='No birds.', label='False')]


def _lines(path, rows):
    with open(path, 'w') as f:
        f.write('\n'.join(json.dumps(r) for r in rows) + '\n')


def _image(path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.new('RGB', (10, 8), (len(path) % 255, 0, 0)).save(path)


@pytest.fixture
def nlvr_root(tmp_path):
    root = str(tmp_path / 'nlvr2')
    os.makedirs(root)
    _lines(osp.join(root, 'train.json'), TRAIN)
    _lines(osp.join(root, 'dev.json'), DEV)
    for stem, folder in (('train-10171-0', 'images/train/21'), ('train-42-3', 'images/train/7'),
                         ('dev-269-0', 'dev'), ('dev-269-1', 'dev')):
        for k in range(2):
            _image(osp.join(root, folder, f'{stem}-img{k}.png'))
    return root


def _items(ds):
    return [{k: v for k, v in ds.get_data_info(i).items() if k != 'sample_idx'} for i in range(len(ds))]


def test_train_paths_use_directory(nlvr_root):
    items = _items(NLVR2(nlvr_root, split='train'))
    img = lambda folder, stem, k: osp.join(nlvr_root, 'images', 'train', folder, f'{stem}-img{k}.png')  # noqa: E731
    assert items == [
        dict(img_path=[img('21', 'train-10171-0', 0), img('21', 'train-10171-0', 1)], text='One image has two dogs.',
             gt_label=1, identifier='train-10171-0-0'),
        dict(img_path=[img('21', 'train-10171-0', 0), img('21', 'train-10171-0', 1)], text='Both images are empty.',
             gt_label=0, identifier='train-10171-0-1'),
        dict(img_path=[img('7', 'train-42-3', 0), img('7', 'train-42-3', 1)], text='A cat is left.', gt_label=0,
             identifier='train-42-3-0')]


def test_dev_matches_mmpretrain_where_it_is_right(nlvr_root):
    from mmpretrain.datasets import NLVR2 as MMNLVR2
    ours = _items(NLVR2(nlvr_root, split='dev'))
    theirs = MMNLVR2(data_root=nlvr_root, ann_file='dev.json', data_prefix=dict(img_path='dev'))
    theirs = [theirs.get_data_info(i) for i in range(len(theirs))]
    assert [(d['img_path'], d['text'], d['gt_label']) for d in ours] == \
        [(d['img_path'], d['text'], d['gt_label']) for d in theirs]
    # ... but mmpretrain ignores `directory`, so its train paths point at files that do not exist
    mm_train = MMNLVR2(data_root=nlvr_root, ann_file='train.json', data_prefix=dict(img_path='images/train'))
    assert not osp.exists(mm_train.get_data_info(0)['img_path'][0])
    assert NLVR2(nlvr_root, split='val').split == 'dev'


def test_pipeline_with_apply_to_list(nlvr_root):
    pipeline = [dict(type='mmpretrain.ApplyToList', scatter_key='img_path', collate_keys=['img', 'img_shape'],
                     transforms=[dict(type='mmpretrain.LoadImageFromFile')]),
                dict(type='mmpretrain.PackInputs', input_key='img', algorithm_keys=['text'],
                     meta_keys=['identifier'])]
    with DefaultScope.overwrite_default_scope('beitmm'):
        from beitmm.registry import DATASETS
        out = DATASETS.build(dict(type='beitmm.NLVR2', data_root=nlvr_root, split='train', pipeline=pipeline))[2]
    assert len(out['inputs']) == 2 and tuple(out['inputs'][0].shape) == (3, 8, 10)
    assert out['data_samples'].gt_label.tolist() == [0] and out['data_samples'].identifier == 'train-42-3-0'


def test_bad_label_names_line_and_identifier(nlvr_root):
    _lines(osp.join(nlvr_root, 'dev.json'), [DEV[0], dict(DEV[1], label='true')])
    with pytest.raises(ValueError, match=r"dev.json' line 2 \(identifier 'dev-269-1-1'\): label 'true' is not"):
        NLVR2(nlvr_root, split='dev')


def test_missing_image_names_file_and_identifier(nlvr_root):
    os.remove(osp.join(nlvr_root, 'images', 'train', '7', 'train-42-3-img1.png'))
    with pytest.raises(FileNotFoundError, match=r"train-42-3-img1.png' of NLVR2 .*train.json' line 3 "
                                                r"\(identifier 'train-42-3-0'\)"):
        NLVR2(nlvr_root, split='train')


def test_wrong_split_and_other_errors(nlvr_root):
    with pytest.raises(ValueError, match=r"line 1 \(identifier 'dev-269-0-0'\): not an identifier of split 'train'"):
        NLVR2(nlvr_root, split='train', ann_file='dev.json')
    with pytest.raises(FileNotFoundError, match="test1.json' does not exist"):
        NLVR2(nlvr_root, split='test1')
    with pytest.raises(ValueError, match="split must be one of"):
        NLVR2(nlvr_root, split='test2')
    with open(osp.join(nlvr_root, 'dev.json'), 'a') as f:
        f.write('{"identifier": "dev-1-0-0", "sentence": \n')
    with pytest.raises(ValueError, match='line 3 is not valid JSON'):
        NLVR2(nlvr_root, split='dev')
