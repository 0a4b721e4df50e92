"""ImageNet-A / -R / -Sketch / -V2 folders as released: labels from the folder names, checked against hand values."""
import os

import numpy as np
import pytest
from PIL import Image

from beitmm.datasets.robustness import ImageNetA, ImageNetR, ImageNetSketch, ImageNetV2


def _tree(root, folders: dict, extra_files=('README.txt', )) -> None:
    """``{folder: [file names]}`` of 8 px images under ``root``, plus stray files at the top."""
    rng = np.random.default_rng(0)
    for folder, names in folders.items():
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        for name in names:
            if name.endswith('.txt'):
                (root / folder / name).write_text('not an image')
                continue
            Image.fromarray((rng.random((8, 8, 3)) * 255).astype(np.uint8)).save(os.path.join(root, folder, name))
    for name in extra_files:
        (root / name).write_text('not an image folder')


def _labels(dataset) -> list:
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return [(os.path.relpath(d['img_path'], dataset.data_root), d['gt_label']) for d in infos]


def test_imagenet_a_labels_are_positions_in_the_200_classes(tmp_path):
    # stingray n01498041 is 1k class 6, the first of ImageNet-A's 200; acorn n12267677 (988) the last
    _tree(tmp_path, {'n12267677': ['b.jpg'], 'n01498041': ['b.jpg', 'a.JPEG', 'notes.txt']})
    ds = ImageNetA(data_root=str(tmp_path))
    assert _labels(ds) == [('n01498041/a.JPEG', 0), ('n01498041/b.jpg', 0), ('n12267677/b.jpg', 199)]
    assert len(ds.metainfo['classes']) == 200 and ds.metainfo['classes'][0] == 'n01498041'


def test_imagenet_r_labels(tmp_path):
    # goldfish n01443537 (1k class 1) is ImageNet-R's first class, acorn its last
    _tree(tmp_path, {'n01443537': ['x.jpg'], 'n12267677': ['y.jpg']})
    assert _labels(ImageNetR(data_root=str(tmp_path))) == [('n01443537/x.jpg', 0), ('n12267677/y.jpg', 199)]


def test_imagenet_sketch_labels_are_1k_indices(tmp_path):
    _tree(tmp_path / 'sketch', {'n15075141': ['t.JPEG'], 'n01440764': ['s.JPEG']})  # toilet tissue 999, tench 0
    ds = ImageNetSketch(data_root=str(tmp_path), data_prefix='sketch')
    assert _labels(ds) == [('sketch/n01440764/s.JPEG', 0), ('sketch/n15075141/t.JPEG', 999)]
    assert len(ds.metainfo['classes']) == 1000


def test_imagenet_v2_labels_are_the_folder_numbers_not_their_sorted_positions(tmp_path):
    _tree(tmp_path, {'2': ['a.jpeg'], '10': ['b.jpeg'], '100': ['c.jpeg']})
    # torchvision's ImageFolder would sort '10' < '100' < '2' and label them 0, 1, 2
    assert sorted(_labels(ImageNetV2(data_root=str(tmp_path)))) == [('10/b.jpeg', 10), ('100/c.jpeg', 100),
                                                                     ('2/a.jpeg', 2)]


def test_a_folder_of_another_dataset_is_refused_by_name(tmp_path):
    _tree(tmp_path, {'n01498041': ['a.jpg'], 'n01440764': ['b.jpg']})  # tench is not an ImageNet-A class
    with pytest.raises(ValueError, match=r"not imagenet-a classes: \['n01440764'\]"):
        ImageNetA(data_root=str(tmp_path))
    with pytest.raises(ValueError, match='imagenet-v2'):
        ImageNetV2(data_root=str(tmp_path))


def test_missing_folder_or_images_are_errors_naming_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        ImageNetR(data_root=str(tmp_path / 'nowhere'))
    _tree(tmp_path, {'n01443537': []})
    with pytest.raises(FileNotFoundError, match='no image'):
        ImageNetR(data_root=str(tmp_path))


def test_images_go_through_the_pipeline(tmp_path):
    _tree(tmp_path, {'7': ['a.jpeg']})
    ds = ImageNetV2(data_root=str(tmp_path),
                    pipeline=[dict(type='beitmm.RobustLoadImageFromFile'), dict(type='mmpretrain.PackInputs')])
    item = ds[0]
    assert tuple(item['inputs'].shape) == (3, 8, 8) and int(item['data_samples'].gt_label) == 7
