"""beitmm.NoCapsCaption on files in the released NoCaps layout (nocaps.org v0.1 JSON, unilm's image folders)."""
import json
import os
import os.path as osp

import pytest
from PIL import Image

from beitmm.datasets.vl import NoCapsCaption

DOMAINS = ('in-domain', 'near-domain', 'out-domain')


def make_nocaps(root, num_val: int = 3, num_test: int = 2, size: int = 32) -> str:
    """Write ``nocaps_val_4500_captions.json`` / ``nocaps_test_image_info.json`` as released, images under val/, test/.

    Fields as the released files: top-level ``licenses`` / ``info`` / ``images`` (+ ``annotations`` for val); images
    with ``id``, ``file_name`` (``<open_images_id>.jpg``), ``open_images_id``, ``height``, ``width``, ``coco_url``,
    ``license``, ``date_captured``, ``domain``; annotations with ``image_id``, ``id``, ``caption`` (10 per image).
    """
    root = str(root)
    for split, n, first_id in (('val', num_val, 0), ('test', num_test, 0)):
        os.makedirs(osp.join(root, split), exist_ok=True)
        images, annotations = [], []
        for i in range(n):
            oid = f'{split[:2]}{i:014x}'
            images.append(dict(id=first_id + i, file_name=f'{oid}.jpg', open_images_id=oid, height=size, width=size,
                               coco_url=f'https://s3.amazonaws.com/nocaps/{split}/{oid}.jpg', license=0,
                               date_captured='2018-11-06 11:04:33', domain=DOMAINS[i % 3]))
            Image.new('RGB', (size, size), (40 * i, 100, 200)).save(osp.join(root, split, f'{oid}.jpg'))
            annotations += [dict(image_id=first_id + i, id=len(annotations), caption=f'a red circle number {i} {k}')
                            for k in range(10)]
        doc = dict(licenses=[dict(id=0, name='CC BY 2.0', url='')], info=dict(version='0.1', year=2018),
                   images=images)
        if split == 'val':
            doc['annotations'] = annotations
        name = 'nocaps_val_4500_captions.json' if split == 'val' else 'nocaps_test_image_info.json'
        with open(osp.join(root, name), 'w', encoding='utf-8') as f:
            json.dump(doc, f)
    return root


def test_val_items_have_the_references_test_items_none(tmp_path):
    root = make_nocaps(tmp_path / 'nocaps')
    val = NoCapsCaption(root, split='val')
    assert len(val) == 3
    item = val.get_data_info(1)
    assert item['img_path'] == osp.join(root, 'val', 'va00000000000001.jpg')
    assert (item['image_id'], item['domain']) == (1, 'near-domain')
    assert item['gt_caption'] == [f'a red circle number 1 {k}' for k in range(10)]
    test = NoCapsCaption(root, split='test')
    assert len(test) == 2 and 'gt_caption' not in test.get_data_info(0)
    assert test.get_data_info(1)['img_path'] == osp.join(root, 'test', 'te00000000000001.jpg')


def test_errors_name_the_file_and_entry(tmp_path):
    root = make_nocaps(tmp_path / 'nocaps')
    with pytest.raises(ValueError, match="no training split"):
        NoCapsCaption(root, split='train')
    os.remove(osp.join(root, 'test', 'te00000000000001.jpg'))
    with pytest.raises(FileNotFoundError, match=r"te00000000000001.jpg' of NoCaps .*images\[1\] \(id 1\)"):
        NoCapsCaption(root, split='test')
    path = osp.join(root, 'nocaps_val_4500_captions.json')
    doc = json.load(open(path))
    doc['annotations'] = [a for a in doc['annotations'] if a['image_id'] != 2]
    json.dump(doc, open(path, 'w'))
    with pytest.raises(ValueError, match=r"images\[2\] \(id 2\) has no reference caption"):
        NoCapsCaption(root, split='val')
    del doc['images'][0]['file_name']
    json.dump(doc, open(path, 'w'))
    with pytest.raises(KeyError, match=r"images\[0\]: missing field\(s\) \['file_name'\]"):
        NoCapsCaption(root, split='val')
    with pytest.raises(FileNotFoundError, match='nocaps_val_4500_captions.json'):
        NoCapsCaption(str(tmp_path / 'elsewhere'), split='val')
