"""beitmm.CheckedCocoDataset on generated COCO 2017 files: parsing as mmdet, named errors, counted skips."""
import json
import os
import os.path as osp
import shutil

import pytest

from beitmm.datasets import CheckedCocoDataset
from beitmm.testing.synthetic_coco import COCO_SHAPES, make_coco_data


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    return make_coco_data(str(tmp_path_factory.mktemp('coco')), num_train=4, num_val=2, img_size=48)


def _copy(coco, tmp_path):
    root = str(tmp_path / 'coco')
    shutil.copytree(coco['root'], root)
    return root


def _dataset(root, **kw):
    return CheckedCocoDataset(data_root=root, ann_file='annotations/instances_train2017.json',
                              data_prefix=dict(img='train2017/'), metainfo=dict(classes=COCO_SHAPES),
                              pipeline=[], **kw)


def _edit(root, fn):
    path = osp.join(root, 'annotations', 'instances_train2017.json')
    with open(path) as f:
        data = json.load(f)
    fn(data)
    with open(path, 'w') as f:
        json.dump(data, f)
    return data


def test_parses_like_mmdet(coco):
    from mmdet.datasets import CocoDataset
    kw = dict(data_root=coco['root'], ann_file='annotations/instances_train2017.json',
              data_prefix=dict(img='train2017/'), metainfo=dict(classes=COCO_SHAPES), pipeline=[])
    ours, ref = CheckedCocoDataset(**kw), CocoDataset(**kw)
    assert len(ours) == len(ref) == 4
    assert [ours.get_data_info(i) for i in range(4)] == [ref.get_data_info(i) for i in range(4)]
    n_anns = sum(len(ours.get_data_info(i)['instances']) for i in range(4))
    assert n_anns == coco['num_train2017'][1] and not any(ours.skipped.values())


def test_missing_annotation_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='instances_train2017.json.*COCO 2017 layout'):
        _dataset(str(tmp_path))


def test_missing_image_is_named_with_its_id(coco, tmp_path):
    root = _copy(coco, tmp_path)
    name = sorted(os.listdir(osp.join(root, 'train2017')))[1]
    os.remove(osp.join(root, 'train2017', name))
    with pytest.raises(FileNotFoundError, match=rf"1 image\(s\).*{name}' \(image id 2\)"):
        _dataset(root)


def test_unknown_category_is_named_with_the_annotation_id(coco, tmp_path):
    root = _copy(coco, tmp_path)
    data = _edit(root, lambda d: d['annotations'][2].update(category_id=99))
    ann = data['annotations'][2]
    with pytest.raises(ValueError, match=rf"annotation id {ann['id']} \(image id {ann['image_id']}\).*category_id 99"):
        _dataset(root)


def test_a_class_left_out_by_the_config_is_dropped_silently(coco):
    ds = CheckedCocoDataset(data_root=coco['root'], ann_file='annotations/instances_train2017.json',
                            data_prefix=dict(img='train2017/'), metainfo=dict(classes=('square', )), pipeline=[])
    labels = {inst['bbox_label'] for i in range(len(ds)) for inst in ds.get_data_info(i)['instances']}
    assert labels <= {0} and not any(ds.skipped.values())


def test_degenerate_boxes_and_empty_polygons_are_counted_skips(coco, tmp_path):
    root = _copy(coco, tmp_path)

    def corrupt(d):
        d['annotations'][0]['bbox'][2] = 0.5  # width < 1
        d['annotations'][1]['area'] = 0
        d['annotations'][2]['segmentation'] = []  # mmdet's loader would raise KeyError: 'mask'
        d['annotations'][3]['segmentation'] = [[1.0, 2.0, 3.0, 4.0]]  # 2 points: no polygon left

    data = _edit(root, corrupt)
    ds = _dataset(root)
    ids = [a['id'] for a in data['annotations'][:4]]
    assert ds.skipped == {'degenerate box': ids[:2], 'empty polygon': ids[2:4]}
    n_anns = sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds)))
    assert n_anns == len(data['annotations']) - 4
