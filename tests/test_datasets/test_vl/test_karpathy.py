"""beitmm.KarpathyRetrieval / KarpathyCaption on hand-written Karpathy split files."""
import json
import os
import os.path as osp

import pytest
from PIL import Image

from beitmm.datasets.vl import KarpathyCaption, KarpathyRetrieval


def _sent(raw, imgid, sentid):
    return dict(raw=raw, tokens=raw.lower().split(), imgid=imgid, sentid=sentid)


FLICKR = [dict(filename='1000092795.jpg', imgid=0, split='train', sentences=[_sent('Two men.', 0, 0),
                                                                              _sent('A garden.', 0, 1)]),
          dict(filename='10002456.jpg', imgid=1, split='test', sentences=[_sent('A dog runs.', 1, 2),
                                                                           _sent('A brown dog.', 1, 3),
                                                                           _sent('Grass.', 1, 4)]),
          dict(filename='1000268201.jpg', imgid=2, split='val', sentences=[_sent('A girl.', 2, 5)]),
          dict(filename='1000344755.jpg', imgid=3, split='test', sentences=[_sent('A man on a ladder.', 3, 6)]),
          dict(filename='1000366164.jpg', imgid=4, split='train', sentences=[_sent('A crowd.', 4, 7)])]
COCO = [dict(filepath='val2014', filename='COCO_val2014_000000391895.jpg', imgid=0, cocoid=391895, split='test',
             sentences=[_sent('A man with a red helmet on a moped. ', 0, 770337), _sent('A moped.', 0, 771687)]),
        dict(filepath='val2014', filename='COCO_val2014_000000522418.jpg', imgid=1, cocoid=522418, split='restval',
             sentences=[_sent('A woman cutting a cake.', 1, 681330)]),
        dict(filepath='train2014', filename='COCO_train2014_000000000009.jpg', imgid=2, cocoid=9, split='train',
             sentences=[_sent('A bowl of food.', 2, 10), _sent('Broccoli.', 2, 11)]),
        dict(filepath='val2014', filename='COCO_val2014_000000184613.jpg', imgid=3, cocoid=184613, split='val',
             sentences=[_sent('A child holding a umbrella.', 3, 12)])]


def _write(root, name, images, folder_of):
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, name), 'w') as f:
        json.dump(dict(images=images, dataset=name[8:-5]), f)
    for e in images:
        path = osp.join(root, folder_of(e), e['filename'])
        os.makedirs(osp.dirname(path), exist_ok=True)
        Image.new('RGB', (6, 4)).save(path)
    return root


@pytest.fixture
def flickr_root(tmp_path):
    return _write(str(tmp_path / 'flickr30k'), 'dataset_flickr30k.json', FLICKR, lambda e: 'flickr30k-images')


@pytest.fixture
def coco_root(tmp_path):
    return _write(str(tmp_path / 'coco'), 'dataset_coco.json', COCO, lambda e: e['filepath'])


def _items(ds):
    return [{k: v for k, v in ds.get_data_info(i).items() if k != 'sample_idx'} for i in range(len(ds))]


@pytest.mark.parametrize('split', ['train', 'val', 'test'])
@pytest.mark.parametrize('test_mode', [False, True])
def test_retrieval_matches_mmpretrain_flickr30k(flickr_root, split, test_mode):
    from mmpretrain.datasets.flickr30k_retrieval import Flickr30kRetrieval  # not exported without WITH_MULTIMODAL
    ref = Flickr30kRetrieval(data_root=flickr_root, data_prefix='flickr30k-images', ann_file='dataset_flickr30k.json',
                             split=split, test_mode=test_mode)
    ours = KarpathyRetrieval(flickr_root, ann_file='dataset_flickr30k.json', split=split, test_mode=test_mode)
    assert _items(ours) == _items(ref) and len(ours) > 0
    assert (ours.img_size, ours.text_size) == (ref.img_size, ref.text_size)


def test_retrieval_test_items_by_hand(flickr_root):
    ds = KarpathyRetrieval(flickr_root, ann_file='dataset_flickr30k.json', split='test', test_mode=True)
    path = lambda name: osp.join(flickr_root, 'flickr30k-images', name)  # noqa: E731
    assert _items(ds) == [
        dict(ori_id=1, image_id=0, img_path=path('10002456.jpg'), text=['A dog runs.', 'A brown dog.', 'Grass.'],
             gt_text_id=[0, 1, 2], gt_image_id=[0, 0, 0]),
        dict(ori_id=3, image_id=1, img_path=path('1000344755.jpg'), text=['A man on a ladder.'], gt_text_id=[3],
             gt_image_id=[1])]
    assert (ds.img_size, ds.text_size) == (2, 4)


def test_retrieval_coco_train_is_train_plus_restval(coco_root):
    ds = KarpathyRetrieval(coco_root, split='train')
    assert [(d['text'], d['image_id'], d['text_id'], d['image_ori_id']) for d in _items(ds)] == [
        ('A woman cutting a cake.', 0, 0, 1), ('A bowl of food.', 1, 1, 2), ('Broccoli.', 1, 2, 2)]
    assert ds.get_data_info(0)['img_path'] == osp.join(coco_root, 'val2014', 'COCO_val2014_000000522418.jpg')
    assert ds.get_data_info(1)['img_path'] == osp.join(coco_root, 'train2014', 'COCO_train2014_000000000009.jpg')
    assert (ds.img_size, ds.text_size) == (2, 3)


def test_caption_items(coco_root):
    train = _items(KarpathyCaption(coco_root, split='train'))
    img = lambda e: osp.join(coco_root, e['filepath'], e['filename'])  # noqa: E731
    assert train == [dict(img_path=img(COCO[1]), gt_caption='A woman cutting a cake.', image_id=522418),
                     dict(img_path=img(COCO[2]), gt_caption='A bowl of food.', image_id=9),
                     dict(img_path=img(COCO[2]), gt_caption='Broccoli.', image_id=9)]
    test = KarpathyCaption(coco_root, split='test')
    assert _items(test) == [dict(img_path=img(COCO[0]), image_id=391895,
                                 gt_caption=['A man with a red helmet on a moped. ', 'A moped.'])]
    assert test.coco_ground_truth() == dict(images=[dict(id=391895)], annotations=[
        dict(image_id=391895, id=0, caption='A man with a red helmet on a moped. '),
        dict(image_id=391895, id=1, caption='A moped.')])


def test_caption_flickr_uses_imgid(flickr_root):
    val = _items(KarpathyCaption(flickr_root, ann_file='dataset_flickr30k.json', split='val'))
    assert val == [dict(img_path=osp.join(flickr_root, 'flickr30k-images', '1000268201.jpg'), image_id=2,
                        gt_caption=['A girl.'])]


def test_empty_caption_names_image_and_sentid(coco_root):
    images = json.load(open(osp.join(coco_root, 'dataset_coco.json')))
    images['images'][2]['sentences'][1]['raw'] = '  '
    json.dump(images, open(osp.join(coco_root, 'dataset_coco.json'), 'w'))
    with pytest.raises(ValueError, match=r"images\[2\] \(imgid 2, 'COCO_train2014_000000000009.jpg'\): sentid 11 is "
                                         'an empty caption'):
        KarpathyCaption(coco_root, split='train')
    with pytest.raises(ValueError, match='sentid 11 is an empty caption'):
        KarpathyRetrieval(coco_root, split='train')
    assert len(KarpathyCaption(coco_root, split='val')) == 1  # other splits are not affected


def test_missing_image_and_wrong_split(coco_root, flickr_root):
    os.remove(osp.join(coco_root, 'val2014', 'COCO_val2014_000000391895.jpg'))
    with pytest.raises(FileNotFoundError, match=r"COCO_val2014_000000391895.jpg' of KarpathyCaption "
                                                r".*dataset_coco.json' images\[0\] \(imgid 0"):
        KarpathyCaption(coco_root, split='test')
    with open(osp.join(flickr_root, 'only_train.json'), 'w') as f:
        json.dump(dict(images=[e for e in FLICKR if e['split'] == 'train']), f)
    with pytest.raises(ValueError, match=r"no image of Karpathy split\(s\) \('test',\) \(it has \{'train': 2\}\)"):
        KarpathyRetrieval(flickr_root, ann_file='only_train.json', split='test', test_mode=True)
    with pytest.raises(ValueError, match='split must be one of'):
        KarpathyCaption(coco_root, split='restval')
