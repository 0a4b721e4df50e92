"""ImageNet / ADE20K datasets that check their paths up front and name the fix.

mmpretrain's ``ImageNet`` and mmseg's ``ADE20KDataset`` fail late or cryptically on a wrong
path (a bare ``os.scandir`` error, an ``AssertionError`` about 1000 classes, an empty dataset,
or a missing annotation discovered mid-epoch). These thin subclasses validate the layout
when the data list is loaded and raise ``FileNotFoundError`` / ``ValueError`` messages that
name the missing path and the expected layout. Everything else is inherited unchanged.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
from mmpretrain.datasets import ImageNet as _MMPretrainImageNet
from mmseg.datasets import ADE20KDataset as _MMSegADE20KDataset
from PIL import Image

from beitmm.registry import DATASETS

DEMO_HINT = 'Synthetic data in this layout: `python tools/misc/make_demo_data.py --out data/demo`.'
IMAGENET_LAYOUT = ('expected <data_root>/{train,val}/<class>/<image> and optionally '
                   '<data_root>/meta/{train,val}.txt ("<class>/<image> <label>" lines, relative to '
                   'the split folder) and <data_root>/meta/classes.txt')
ADE20K_LAYOUT = ('expected <data_root>/images/{training,validation}/<name>.jpg and '
                 '<data_root>/annotations/{training,validation}/<name>.png (single-channel uint8)')


def _join(root: Optional[str], path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


def _require(path: str, kind: str, what: str, layout: str) -> None:
    ok = osp.isdir(path) if kind == 'dir' else osp.isfile(path)
    if not ok:
        raise FileNotFoundError(f"{what} '{path}' does not exist; {layout}. {DEMO_HINT}")


@DATASETS.register_module()
class ImageNet(_MMPretrainImageNet):
    """mmpretrain ``ImageNet`` with path checks and automatic class lists for small datasets.

    Class names come from, in order: ``classes`` / ``metainfo['classes']`` if given;
    ``<data_root>/meta/classes.txt`` if it exists; in class-folder mode, the sorted folder
    names when there are not exactly 1000 of them; otherwise the 1000 ImageNet classes.
    Labels in an annotation file are checked against the number of classes.

    Args:
        data_root: Dataset root. Defaults to ''.
        split: 'train', 'val' or 'test' (sets ``data_prefix`` and, if present,
            ``ann_file='meta/<split>.txt'``). Defaults to ''.
        data_prefix: Image folder relative to ``data_root``. Defaults to ''.
        ann_file: Annotation file relative to ``data_root``. Defaults to ''.
        metainfo: Meta information such as ``classes``. Defaults to None.
        classes: Class names or a file with one per line.
            Defaults to None.
        **kwargs: Other arguments of mmpretrain's ``ImageNet``.
    """

    def __init__(self,
                 data_root: str = '',
                 split: str = '',
                 data_prefix: Union[str, dict] = '',
                 ann_file: str = '',
                 metainfo: Optional[dict] = None,
                 classes: Union[str, Sequence[str], None] = None,
                 **kwargs) -> None:
        if data_root:
            _require(data_root, 'dir', 'ImageNet data_root', IMAGENET_LAYOUT)
        prefix = data_prefix.get('img_path', '') if isinstance(data_prefix, dict) else data_prefix
        img_dir = _join(data_root, prefix or split)
        if ann_file:
            _require(_join(data_root, ann_file), 'file', 'ImageNet ann_file', IMAGENET_LAYOUT)
        _require(img_dir or os.curdir, 'dir', 'ImageNet image folder', IMAGENET_LAYOUT)
        if classes is None and 'classes' not in (metainfo or {}):
            classes_txt = _join(data_root, osp.join('meta', 'classes.txt'))
            auto_ann = split and osp.isfile(_join(data_root, osp.join('meta', f'{split}.txt')))
            if osp.isfile(classes_txt):
                classes = classes_txt
            elif not ann_file and not auto_ann and split != 'test':
                folders = sorted(e.name for e in os.scandir(img_dir or os.curdir) if e.is_dir())
                if len(folders) != len(self.METAINFO['classes']):
                    metainfo = {**(metainfo or {}), 'classes': tuple(folders)}
        super().__init__(data_root=data_root, split=split, data_prefix=data_prefix, ann_file=ann_file,
                         metainfo=metainfo, classes=classes, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load samples, then check annotation-file labels against the class count.

        Returns:
            list[dict]: mmpretrain sample dicts.
        """
        data_list = super().load_data_list()
        if self.ann_file and self.with_label and data_list:
            num_classes = len(self.CLASSES)
            bad = [d for d in data_list if not 0 <= d['gt_label'] < num_classes]
            if bad:
                raise ValueError(
                    f"'{self.ann_file}' has {len(bad)} label(s) outside [0, {num_classes - 1}] "
                    f"(e.g. {bad[0]['gt_label']} for '{bad[0]['img_path']}') but the dataset has "
                    f'{num_classes} classes; pass the right `classes` or add meta/classes.txt.')
        return data_list


@DATASETS.register_module()
class ADE20KDataset(_MMSegADE20KDataset):
    """mmseg ``ADE20KDataset`` that checks folders and annotation files when loading.

    Missing ``data_root``, image folder, annotation folder, ``ann_file`` or individual
    annotation maps raise ``FileNotFoundError`` naming the path; an empty image folder too.
    With ``check_labels=True`` every annotation is also opened (slow on the full dataset)
    and must be single-channel with values in ``{0, ..., 150, 255}`` (``0..149`` and 255
    without ``reduce_zero_label``), else ``ValueError`` names the file and values.

    Args:
        check_labels: Validate annotation values. Defaults to False.
        **kwargs: Arguments of mmseg's ``ADE20KDataset`` (``data_root``, ``data_prefix``, ...).
    """

    def __init__(self, check_labels: bool = False, **kwargs) -> None:
        self.check_labels = check_labels
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        """Validate paths, load samples, check annotation files (and values, if asked).

        Returns:
            list[dict]: mmseg sample dicts.
        """
        if self.data_root:
            _require(self.data_root, 'dir', 'ADE20K data_root', ADE20K_LAYOUT)
        img_dir = self.data_prefix.get('img_path', None)
        ann_dir = self.data_prefix.get('seg_map_path', None)
        _require(img_dir or os.curdir, 'dir', 'ADE20K image folder (data_prefix.img_path)', ADE20K_LAYOUT)
        if ann_dir is not None:
            _require(ann_dir or os.curdir, 'dir', 'ADE20K annotation folder (data_prefix.seg_map_path)',
                     ADE20K_LAYOUT)
        if self.ann_file:
            _require(self.ann_file, 'file', 'ADE20K ann_file', ADE20K_LAYOUT)
        data_list = super().load_data_list()
        if not data_list:
            raise FileNotFoundError(f"No '*{self.img_suffix}' images under '{img_dir}'; {ADE20K_LAYOUT}.")
        if ann_dir is not None:
            missing = [d for d in data_list if not osp.isfile(d['seg_map_path'])]
            if missing:
                raise FileNotFoundError(
                    f"{len(missing)} of {len(data_list)} annotation maps are missing, e.g. "
                    f"'{missing[0]['seg_map_path']}' for image '{missing[0]['img_path']}'; {ADE20K_LAYOUT}.")
            if self.check_labels:
                for info in data_list:
                    self._check_label_file(info['seg_map_path'])
        return data_list

    def _check_label_file(self, path: str) -> None:
        """Raise ``ValueError`` if ``path`` is not a valid ADE20K label map."""
        label = np.asarray(Image.open(path))
        if label.ndim != 2:
            raise ValueError(f"Annotation '{path}' has shape {label.shape}; ADE20K annotations must be "
                             'single-channel (mode L/P) PNGs holding class indices, not colour images.')
        num = len(self.METAINFO['classes'])
        max_valid = num if self.reduce_zero_label else num - 1
        values = np.unique(label)
        bad = values[(values > max_valid) & (values != self.ignore_index)]
        if bad.size:
            raise ValueError(f"Annotation '{path}' has label value(s) {bad.tolist()}; valid are "
                             f'0..{max_valid} and {self.ignore_index} (ignore) with '
                             f'reduce_zero_label={self.reduce_zero_label}.')
