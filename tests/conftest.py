"""Shared pytest fixtures: tiny synthetic datasets in the real on-disk layouts.

Generated once per session into pytest's temporary directory (well under a second);
treat them as read-only (copy into ``tmp_path`` before modifying).

Fixtures:
    imagenet_info / imagenet_root: ImageNet layout, 4 classes x (6 train + 3 val), 32 px,
        ``train/<class>/*.JPEG``, ``val/<class>/*.JPEG``, ``meta/{train,val,classes}.txt``.
    ade20k_info / ade20k_root: ``ADEChallengeData2016`` layout, 8 training + 4 validation
        images of 64 px, raw labels 0..4 (4 classes after ``reduce_zero_label``).
    unlabeled_info / unlabeled_root: 20 images (sides 32-48 px, .jpg/.png/.JPEG) nested in
        subfolders, plus a ``README.txt`` that loaders must skip.
The ``*_info`` fixtures yield the generator's dict (``root``, ``classes``, counts, ...);
the ``*_root`` fixtures yield the dataset root as ``str``.
"""
from typing import Dict

import pytest

import beitmm  # noqa: F401  (first: keeps mmpretrain's BLIP models unimported with pycocotools; beitmm/_compat.py)

# Generators are imported inside the fixtures: importing beitmm.datasets pulls in mmseg and
# mmpretrain, which test sessions that never use these fixtures should not pay for.


@pytest.fixture(scope='session')
def imagenet_info(tmp_path_factory: pytest.TempPathFactory) -> Dict:
    """ImageNet layout: 4 classes x (6 train + 3 val) at 32 px; yields the generator dict."""
    from beitmm.testing.synthetic import make_classification_data
    root = tmp_path_factory.mktemp('data') / 'imagenet'
    return make_classification_data(str(root), num_classes=4, train_per_class=6, val_per_class=3,
                                    img_size=32, seed=0)


@pytest.fixture(scope='session')
def imagenet_root(imagenet_info: Dict) -> str:
    """Root of the ImageNet-layout dataset (str)."""
    return imagenet_info['root']


@pytest.fixture(scope='session')
def ade20k_info(tmp_path_factory: pytest.TempPathFactory) -> Dict:
    """ADEChallengeData2016 layout: 8 + 4 images at 64 px, raw labels 0..4."""
    from beitmm.testing.synthetic import make_segmentation_data
    root = tmp_path_factory.mktemp('data') / 'ade' / 'ADEChallengeData2016'
    return make_segmentation_data(str(root), num_train=8, num_val=4, img_size=64, num_classes=4, seed=0)


@pytest.fixture(scope='session')
def ade20k_root(ade20k_info: Dict) -> str:
    """Root of the ADE20K-layout dataset, i.e. the ``ADEChallengeData2016`` folder (str)."""
    return ade20k_info['root']


@pytest.fixture(scope='session')
def unlabeled_info(tmp_path_factory: pytest.TempPathFactory) -> Dict:
    """20 nested unlabeled images (32-48 px); yields the generator dict."""
    from beitmm.testing.synthetic import make_unlabeled_data
    root = tmp_path_factory.mktemp('data') / 'unlabeled'
    return make_unlabeled_data(str(root), num_images=20, img_size=32, seed=0)


@pytest.fixture(scope='session')
def unlabeled_root(unlabeled_info: Dict) -> str:
    """Root of the unlabeled image folder (str)."""
    return unlabeled_info['root']
