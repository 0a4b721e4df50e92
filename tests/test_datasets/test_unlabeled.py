"""Tests for beitmm.UnlabeledImageFolder, built through real registries and pipelines."""
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image

from beitmm.datasets.unlabeled import UnlabeledImageFolder, list_images, read_image_list
from beitmm.registry import DATASETS


def test_folder_mode_lists_all_images(unlabeled_info):
    ds = UnlabeledImageFolder(data_root=unlabeled_info['root'])
    assert len(ds) == 20
    paths = [ds.get_data_info(i)['img_path'] for i in range(len(ds))]
    assert paths == [osp.join(unlabeled_info['root'], f) for f in unlabeled_info['files']]
    info = ds.get_data_info(3)
    assert info['sample_idx'] == 3 and 'gt_label' not in info


def test_build_in_beitmm_scope_with_pipeline(unlabeled_info):
    root = unlabeled_info['root']
    with DefaultScope.overwrite_default_scope('beitmm'):
        ds = DATASETS.build(
            dict(type='beitmm.UnlabeledImageFolder', data_root=root, data_prefix=dict(img_path='part_1'),
                 pipeline=[dict(type='LoadImageFromFile')]))
    expected = [f for f in unlabeled_info['files'] if f.startswith('part_1')]
    assert len(ds) == len(expected) > 0
    sample = ds[0]
    ref = np.asarray(Image.open(osp.join(root, expected[0])).convert('RGB'))
    assert sample['img'].shape == ref.shape  # [H, W, 3] BGR from mmcv
    assert sample['img_path'] == osp.join(root, 'part_1', expected[0][len('part_1/'):])
    if expected[0].endswith('.png'):  # lossless: pixels match exactly (mmcv loads BGR)
        assert np.array_equal(sample['img'][..., ::-1], ref)


def test_build_from_mmengine_root_registry_like_runner(unlabeled_root):
    from mmengine.registry import DATASETS as ROOT_DATASETS
    with DefaultScope.overwrite_default_scope('beitmm'):  # a config with default_scope='beitmm'
        ds = ROOT_DATASETS.build(dict(type='UnlabeledImageFolder', data_root=unlabeled_root,
                                      pipeline=[dict(type='LoadImageFromFile')], indices=4))
        imgs = [ds[i]['img'] for i in range(len(ds))]
    assert type(ds) is UnlabeledImageFolder and len(imgs) == 4
    assert all(img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8 for img in imgs)


def test_build_in_mmpretrain_scope_with_mmpretrain_pipeline(unlabeled_root):
    from mmpretrain.registry import DATASETS as MMPRETRAIN_DATASETS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = MMPRETRAIN_DATASETS.build(
            dict(type='beitmm.UnlabeledImageFolder', data_root=unlabeled_root,
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', scale=24),
                           dict(type='PackInputs')]))
        out = ds[5]
    assert isinstance(ds, UnlabeledImageFolder)
    assert tuple(out['inputs'].shape) == (3, 24, 24)  # [C, H, W] uint8 tensor
    assert out['data_samples'].sample_idx == 5 and 'gt_label' not in out['data_samples']


def test_imagenet_split_without_labels(imagenet_info):
    ds = UnlabeledImageFolder(data_root=imagenet_info['root'], data_prefix=dict(img_path='train'),
                              ann_file='meta/train.txt')
    assert len(ds) == imagenet_info['num_train'] == 24
    first = ds.get_data_info(0)
    assert first['img_path'] == osp.join(imagenet_info['root'], 'train', 'disc', 'disc_00000.JPEG')
    assert set(first) == {'img_path', 'sample_idx'}
    folder = UnlabeledImageFolder(data_root=imagenet_info['root'], data_prefix=dict(img_path='val'))
    assert len(folder) == 12  # folder mode: class folders are just subfolders


def test_read_image_list_formats(tmp_path):
    ann = tmp_path / 'list.txt'
    ann.write_text('a/x.jpg 3\nb.png\n\n  c d.jpg 12 \nweird name.jpg\n-neg.jpg -1\n')
    assert read_image_list(str(ann)) == ['a/x.jpg', 'b.png', 'c d.jpg', 'weird name.jpg', '-neg.jpg']


def test_extensions_case_insensitive(unlabeled_info):
    root = unlabeled_info['root']
    files = unlabeled_info['files']
    pngs = UnlabeledImageFolder(data_root=root, extensions=['PNG'])
    assert len(pngs) == sum(f.endswith('.png') for f in files) > 0
    jpegs = list_images(root, extensions=('.jpeg', ))
    assert jpegs == [f for f in files if f.endswith('.JPEG')] and jpegs
    assert 'README.txt' not in list_images(root, extensions=('.jpg', '.png', '.jpeg'))


def test_missing_directory_error(tmp_path):
    missing = tmp_path / 'nope'
    with pytest.raises(FileNotFoundError, match=f"Image folder '{missing}/images' does not exist"):
        UnlabeledImageFolder(data_root=str(missing), data_prefix=dict(img_path='images'))


def test_missing_ann_file_error(unlabeled_root):
    with pytest.raises(FileNotFoundError, match=r"Image list file '.*meta/train\.txt' does not exist"):
        UnlabeledImageFolder(data_root=unlabeled_root, ann_file='meta/train.txt')


def test_no_images_error(tmp_path):
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'notes.txt').write_text('no images here')
    with pytest.raises(FileNotFoundError, match=f"No images found in folder '{tmp_path}'"):
        UnlabeledImageFolder(data_root=str(tmp_path))


def test_wrong_prefix_for_list_error(imagenet_root, tmp_path):
    shutil.copytree(imagenet_root, tmp_path / 'imnet')
    with pytest.raises(FileNotFoundError, match='must be relative to data_prefix'):
        UnlabeledImageFolder(data_root=str(tmp_path / 'imnet'), ann_file='meta/train.txt')


def test_bad_data_prefix_and_extensions(unlabeled_root):
    with pytest.raises(ValueError, match="data_prefix=dict\\(img_path="):
        UnlabeledImageFolder(data_root=unlabeled_root, data_prefix='images')
    with pytest.raises(ValueError, match='at least one file extension'):
        UnlabeledImageFolder(data_root=unlabeled_root, extensions=())
