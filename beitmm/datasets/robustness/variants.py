"""ImageNet-A / -R / -Sketch / -V2 test sets in their released folder layouts, labelled by ImageNet-1k wnid.

The released archives are image folders whose folder names fix the class; torchvision's ``ImageFolder`` labels the
sorted folder names 0..N-1, which is right only for a complete copy and wrong for ImageNet-V2 (folders ``0`` .. ``999``
sort as ``0, 1, 10, 100, ...``). Here the label of a folder comes from its name:

- ImageNet-A (``imagenet-a.tar``) and ImageNet-R (``imagenet-r.tar``, 30,000 images by its README): 200 wnid folders;
  the label is the position of the wnid in the sorted 200-wnid list of the official index file (0..199), the order in
  which unilm / Hendrycks et al. slice the 1000 logits (:func:`subset_indices`).
- ImageNet-Sketch (``ImageNet-Sketch.zip`` -> ``sketch/``): 1000 wnid folders, label = ImageNet-1k index.
- ImageNetV2 (``imagenetv2-matched-frequency.tar.gz`` -> ``imagenetv2-matched-frequency-format-val/``): folders named
  by the ImageNet-1k index, ``0`` .. ``999``.

A copy with some class folders missing loads
with a warning (labels stay right); a folder that is not a class of the variant, or no image at all, is an error.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset

from beitmm.registry import DATASETS

from .wnids import IMAGENET_1K_WNIDS, IMAGENET_A_WNIDS, IMAGENET_R_WNIDS

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')
# variant -> (class folders in label order, whether the folder names are 1k indices, released folder)
VARIANTS: Dict[str, tuple] = {
    'imagenet-a': (IMAGENET_A_WNIDS, False, 'imagenet-a/'),
    'imagenet-r': (IMAGENET_R_WNIDS, False, 'imagenet-r/'),
    'imagenet-sketch': (IMAGENET_1K_WNIDS, False, 'sketch/'),
    'imagenet-v2': (tuple(str(i) for i in range(1000)), True, 'imagenetv2-matched-frequency-format-val/'),
}


def subset_indices(variant: str) -> List[int]:
    """ImageNet-1k indices of a variant's classes, in label order (what ``logits[:, indices]`` keeps).

    Args:
        variant: ``'imagenet-a'`` or ``'imagenet-r'`` (200 classes); ``'imagenet-sketch'`` / ``'imagenet-v2'`` give
            all 1000.

    Returns:
        Increasing indices into the 1000 ImageNet-1k classes.
    """
    folders, numeric, _ = _spec(variant)
    if numeric:
        return [int(f) for f in folders]
    position = {w: i for i, w in enumerate(IMAGENET_1K_WNIDS)}
    return [position[w] for w in folders]


def _spec(variant: str) -> tuple:
    if variant not in VARIANTS:
        raise ValueError(f'unknown ImageNet variant {variant!r}; one of {sorted(VARIANTS)}')
    return VARIANTS[variant]


@DATASETS.register_module()
class ImageNetVariant(BaseDataset):
    """A released ImageNet test variant (see the module docstring for the layouts and labels).

    Args:
        variant: ``'imagenet-a'``, ``'imagenet-r'``, ``'imagenet-sketch'`` or ``'imagenet-v2'``.
        data_root: The extracted folder (holding the class folders, or ``data_prefix`` leading to them).
        data_prefix: Sub-folder of ``data_root`` that holds the class folders. Defaults to ''.
        pipeline: Test transforms.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset`` (``indices``, ``serialize_data``, ...).
    """

    VARIANT: Optional[str] = None

    def __init__(self, variant: Optional[str] = None, data_root: str = '', data_prefix: str = '',
                 pipeline: Sequence = (), **kwargs) -> None:
        self.variant = variant or self.VARIANT
        folders, numeric, _ = _spec(self.variant)
        classes = IMAGENET_1K_WNIDS if numeric else folders
        super().__init__(ann_file='', data_root=data_root, data_prefix=data_prefix, pipeline=pipeline,
                         test_mode=True, metainfo=dict(classes=tuple(classes)), **kwargs)

    def load_data_list(self) -> List[dict]:
        """Scan the class folders; label each image by its folder's name.

        Returns:
            ``[{'img_path': ..., 'gt_label': ...}]`` sorted by label, then file name.

        Raises:
            FileNotFoundError: The folder is missing or holds no image of the variant's classes.
            ValueError: A sub-folder is not a class of the variant (another dataset, or the archive's parent folder).
        """
        folders, _, released = _spec(self.variant)
        root = self.data_prefix.get('img_path') or self.data_root
        layout = (f"{self.variant}: expected <data_root>/<class folder>/<image> as released ('{released}' with "
                  f'{len(folders)} class folders)')
        if not osp.isdir(root):
            raise FileNotFoundError(f"'{root}' does not exist; {layout}")
        label_of = {f: i for i, f in enumerate(folders)}
        found = sorted(e.name for e in os.scandir(root) if e.is_dir())
        foreign = [f for f in found if f not in label_of]
        if foreign:
            raise ValueError(f"'{root}' has folder(s) that are not {self.variant} classes: {foreign[:5]}; {layout}")
        missing = [f for f in folders if f not in set(found)]
        if missing:
            print_log(f"'{root}': {len(missing)} of {len(folders)} {self.variant} class folders are missing "
                      f'(e.g. {missing[:3]}); the others keep their labels', logger='current', level=30)
        data_list = []
        for folder in sorted(found, key=label_of.__getitem__):
            names = sorted(n for n in os.listdir(osp.join(root, folder)) if n.lower().endswith(IMG_EXTENSIONS))
            data_list += [dict(img_path=osp.join(root, folder, n), gt_label=label_of[folder]) for n in names]
        if not data_list:
            raise FileNotFoundError(f"no image ({', '.join(IMG_EXTENSIONS)}) under '{root}'; {layout}")
        return data_list


@DATASETS.register_module()
class ImageNetA(ImageNetVariant):
    """ImageNet-A (natural adversarial examples), 200 classes: :class:`ImageNetVariant` ``'imagenet-a'``."""

    VARIANT = 'imagenet-a'


@DATASETS.register_module()
class ImageNetR(ImageNetVariant):
    """ImageNet-R (renditions), 200 classes: :class:`ImageNetVariant` ``'imagenet-r'``."""

    VARIANT = 'imagenet-r'


@DATASETS.register_module()
class ImageNetSketch(ImageNetVariant):
    """ImageNet-Sketch, 1000 classes: :class:`ImageNetVariant` ``'imagenet-sketch'``."""

    VARIANT = 'imagenet-sketch'


@DATASETS.register_module()
class ImageNetV2(ImageNetVariant):
    """ImageNetV2 (any of its three releases), 1000 index-named folders: :class:`ImageNetVariant` ``'imagenet-v2'``."""

    VARIANT = 'imagenet-v2'
