"""The generated layouts load through mmpretrain / mmseg; beitmm's checked datasets fail clearly."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image

from beitmm.datasets.checked import ADE20KDataset, ImageNet

CLS_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
SEG_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]


def _label_matches_folder(out: dict, classes) -> bool:
    sample = out['data_samples']
    return sample.gt_label.item() == list(classes).index(osp.basename(osp.dirname(sample.img_path)))


def test_mmpretrain_imagenet_ann_file_mode(imagenet_info):
    from mmpretrain.datasets import ImageNet as MMImageNet
    root = imagenet_info['root']
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = MMImageNet(data_root=root, split='val', classes=osp.join(root, 'meta', 'classes.txt'),
                        pipeline=CLS_PIPELINE)
        out = ds[7]
    assert ds.ann_file == osp.join(root, 'meta', 'val.txt') and len(ds) == 12
    assert list(ds.CLASSES) == imagenet_info['classes']
    assert tuple(out['inputs'].shape) == (3, 32, 32)
    assert _label_matches_folder(out, ds.CLASSES)


def test_mmpretrain_imagenet_folder_mode_needs_classes(imagenet_root):
    from mmpretrain.datasets import ImageNet as MMImageNet
    with pytest.raises(AssertionError, match=r'number of subfolders \(4\)'):
        MMImageNet(data_root=imagenet_root, data_prefix='train')  # 1000 default classes


@pytest.mark.parametrize('split', ['train', 'val'])
def test_beitmm_imagenet_ann_file_mode(imagenet_info, split):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        from mmpretrain.registry import DATASETS
        ds = DATASETS.build(dict(type='beitmm.ImageNet', data_root=imagenet_info['root'], split=split,
                                 pipeline=CLS_PIPELINE))
        samples = [ds[i] for i in range(len(ds))]
    assert isinstance(ds, ImageNet) and ds.ann_file.endswith(f'meta/{split}.txt')
    assert list(ds.CLASSES) == imagenet_info['classes']  # from meta/classes.txt
    assert len(ds) == imagenet_info[f'num_{split}']
    labels = [s['data_samples'].gt_label.item() for s in samples]
    assert all(_label_matches_folder(s, ds.CLASSES) for s in samples)
    assert sorted(set(labels)) == [0, 1, 2, 3]


def test_beitmm_imagenet_folder_mode_without_meta(imagenet_info, tmp_path):
    root = tmp_path / 'imnet'
    shutil.copytree(imagenet_info['root'], root)
    shutil.rmtree(root / 'meta')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = ImageNet(data_root=str(root), split='train', pipeline=CLS_PIPELINE)
        outs = [ds[i] for i in (0, 10, 23)]
    assert not ds.ann_file and list(ds.CLASSES) == imagenet_info['classes']  # from folders
    assert len(ds) == 24
    for out in outs:
        assert _label_matches_folder(out, ds.CLASSES)


def test_beitmm_imagenet_explicit_classes_win(imagenet_root):
    ds = ImageNet(data_root=imagenet_root, split='train', classes=['a', 'b', 'c', 'd', 'e'])
    assert list(ds.CLASSES) == ['a', 'b', 'c', 'd', 'e']


def test_beitmm_imagenet_missing_paths(imagenet_root, tmp_path):
    missing = tmp_path / 'no_imagenet'
    with pytest.raises(FileNotFoundError, match=f"data_root '{missing}' does not exist.*make_demo_data"):
        ImageNet(data_root=str(missing), split='train')
    with pytest.raises(FileNotFoundError, match=r"ImageNet ann_file '.*meta/trian\.txt' does not exist"):
        ImageNet(data_root=imagenet_root, split='train', ann_file='meta/trian.txt')
    with pytest.raises(FileNotFoundError, match=r"ImageNet image folder '.*/test' does not exist"):
        ImageNet(data_root=imagenet_root, split='test')


def test_beitmm_imagenet_label_out_of_range(imagenet_root, tmp_path):
    root = tmp_path / 'imnet'
    shutil.copytree(imagenet_root, root)
    with open(root / 'meta' / 'train.txt', 'a') as f:
        f.write('disc/disc_00000.JPEG 7\n')
    with pytest.raises(ValueError, match=r"label\(s\) outside \[0, 3\] \(e\.g\. 7 for"):
        ImageNet(data_root=str(root), split='train')


def _seg_prefix(split: str = 'training') -> dict:
    return dict(img_path=f'images/{split}', seg_map_path=f'annotations/{split}')


def test_ade20k_loads_with_reduce_zero_label(ade20k_root):
    with DefaultScope.overwrite_default_scope('mmseg'):
        from mmseg.registry import DATASETS
        plain = DATASETS.build(dict(type='ADE20KDataset', data_root=ade20k_root,
                                    data_prefix=_seg_prefix('validation'), pipeline=SEG_PIPELINE))
        ds = DATASETS.build(dict(type='beitmm.ADE20KDataset', data_root=ade20k_root, check_labels=True,
                                 data_prefix=_seg_prefix('validation'), pipeline=SEG_PIPELINE))
        outs = [ds[i] for i in range(len(ds))]
        plain_out = plain[0]
    assert isinstance(ds, ADE20KDataset) and len(ds) == len(plain) == 4
    assert osp.basename(outs[0]['data_samples'].img_path) == 'ADE_val_00000001.jpg'
    for out in outs:
        raw = np.asarray(Image.open(out['data_samples'].seg_map_path))
        gt = out['data_samples'].gt_sem_seg.data[0].numpy()  # [H, W]
        expected = np.where(raw == 0, 255, raw.astype(np.int64) - 1)
        assert np.array_equal(gt, expected)
        assert set(np.unique(gt).tolist()) <= {0, 1, 2, 3, 255}
    assert np.array_equal(plain_out['data_samples'].gt_sem_seg.data,
                          outs[0]['data_samples'].gt_sem_seg.data)


def test_ade20k_class_subset_metainfo(ade20k_info):
    with DefaultScope.overwrite_default_scope('mmseg'):
        ds = ADE20KDataset(data_root=ade20k_info['root'], data_prefix=_seg_prefix(),
                           metainfo=dict(classes=ade20k_info['classes']), pipeline=SEG_PIPELINE)
        gt = np.concatenate([ds[i]['data_samples'].gt_sem_seg.data.numpy().ravel()
                             for i in range(len(ds))])
    assert list(ds.metainfo['classes']) == ['wall', 'building', 'sky', 'floor'] and len(ds) == 8
    assert set(np.unique(gt).tolist()) <= {0, 1, 2, 3, 255} and {0, 1, 2, 3} <= set(gt.tolist())


def test_ade20k_missing_paths(ade20k_root, tmp_path):
    missing = tmp_path / 'ADEChallengeData2016'
    with pytest.raises(FileNotFoundError, match=f"ADE20K data_root '{missing}' does not exist"):
        ADE20KDataset(data_root=str(missing), data_prefix=_seg_prefix())
    root = tmp_path / 'ade'
    shutil.copytree(ade20k_root, root)
    shutil.rmtree(root / 'annotations' / 'validation')
    with pytest.raises(FileNotFoundError, match=r"seg_map_path\) '.*annotations/validation' does not"):
        ADE20KDataset(data_root=str(root), data_prefix=_seg_prefix('validation'))
    os.remove(root / 'annotations' / 'training' / 'ADE_train_00000003.png')
    with pytest.raises(FileNotFoundError, match=r"1 of 8 annotation maps are missing, e\.g\. '.*_00000003"):
        ADE20KDataset(data_root=str(root), data_prefix=_seg_prefix())
    os.makedirs(root / 'images' / 'empty')
    with pytest.raises(FileNotFoundError, match=r"No '\*\.jpg' images under '.*empty'"):
        ADE20KDataset(data_root=str(root), data_prefix=dict(img_path='images/empty'))


def test_ade20k_check_labels(ade20k_root, tmp_path):
    root = tmp_path / 'ade'
    shutil.copytree(ade20k_root, root)
    ann = root / 'annotations' / 'training' / 'ADE_train_00000002.png'
    label = np.asarray(Image.open(ann)).copy()
    label[0, :3] = 200
    Image.fromarray(label, mode='L').save(ann)
    ADE20KDataset(data_root=str(root), data_prefix=_seg_prefix())  # unchecked by default
    with pytest.raises(ValueError, match=r"ADE_train_00000002\.png' has label value\(s\) \[200\]"):
        ADE20KDataset(data_root=str(root), data_prefix=_seg_prefix(), check_labels=True)
    Image.fromarray(np.stack([label] * 3, -1)).save(ann)
    with pytest.raises(ValueError, match='must be single-channel'):
        ADE20KDataset(data_root=str(root), data_prefix=_seg_prefix(), check_labels=True)
