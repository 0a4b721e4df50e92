"""A dataset of unlabeled images (any folder tree, or an ImageNet split without its labels)."""
import os
import os.path as osp
from typing import List, Optional, Sequence

import mmcv.transforms  # noqa: F401  (registers LoadImageFromFile & co. in mmengine's TRANSFORMS)
from mmengine.dataset import BaseDataset

from beitmm.registry import DATASETS

from .vl.common import iter_text_lines

DEFAULT_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def _normalize_extensions(extensions: Sequence[str]) -> tuple:
    if isinstance(extensions, str):
        extensions = (extensions, )
    exts = tuple(sorted({(e if e.startswith('.') else '.' + e).lower() for e in extensions}))
    if not exts:
        raise ValueError('`extensions` must name at least one file extension, e.g. (".jpg", ".png").')
    return exts


def list_images(root: str, extensions: Sequence[str] = DEFAULT_EXTENSIONS) -> List[str]:
    """Recursively list image files under ``root``.

    Args:
        root: Directory to walk (symlinked folders are followed).
        extensions: Accepted extensions, case-insensitive, with or without
            the dot. Defaults to :data:`DEFAULT_EXTENSIONS`.

    Returns:
        list[str]: Paths relative to ``root``, sorted (deterministic across file systems).
    """
    exts = _normalize_extensions(extensions)
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        rel_dir = osp.relpath(dirpath, root)
        for name in filenames:
            if name.lower().endswith(exts):
                found.append(name if rel_dir == '.' else osp.join(rel_dir, name))
    return sorted(found)


def read_image_list(ann_file: str) -> List[str]:
    """Read relative image paths from a list file.

    Each non-empty line is either ``path`` or mmpretrain's ``path label``; a trailing integer
    label is dropped, so ImageNet's ``meta/train.txt`` can be used without its labels.

    Args:
        ann_file: The list file.

    Returns:
        list[str]: Paths in file order.
    """
    paths = []
    for _, line in iter_text_lines(ann_file, 'Image list'):
        line = line.strip()
        if not line:
            continue
        parts = line.rsplit(maxsplit=1)
        if len(parts) == 2 and parts[1].lstrip('-').isdigit():
            line = parts[0]
        paths.append(line)
    return paths


@DATASETS.register_module()
class UnlabeledImageFolder(BaseDataset):
    """All images under a folder (recursively), or those listed in a file, without labels.

    Each sample is ``{'img_path': ..., 'sample_idx': i}`` (``sample_idx`` is added by
    mmengine's ``get_data_info``), ready for ``LoadImageFromFile``.

    Examples:
        >>> dataset = UnlabeledImageFolder(
        ...     data_root='data/imagenet', data_prefix=dict(img_path='train'),
        ...     ann_file='meta/train.txt',  # optional; labels in it are ignored
        ...     pipeline=[dict(type='LoadImageFromFile')])

    Args:
        data_root: Root that relative ``data_prefix`` / ``ann_file`` are joined to.
            Defaults to ''.
        data_prefix: ``dict(img_path=...)``: the image folder. Defaults to
            ``dict(img_path='')`` (the data root itself).
        ann_file: Optional list file of image paths relative to ``img_path`` (``path``
            or ``path label`` lines). Defaults to '' (walk the folder).
        extensions: Accepted image extensions, case-insensitive. Defaults to
            ``('.jpg', '.jpeg', '.png', '.bmp', '.webp')``.
        metainfo: Extra meta information. Defaults to None.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset` (``pipeline``,
            ``indices``, ``lazy_init``, ``test_mode``, ...).
    """

    def __init__(self,
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 ann_file: str = '',
                 extensions: Sequence[str] = DEFAULT_EXTENSIONS,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        self.extensions = _normalize_extensions(extensions)
        data_prefix = dict(img_path='') if data_prefix is None else data_prefix
        if not isinstance(data_prefix, dict) or 'img_path' not in data_prefix:
            raise ValueError("UnlabeledImageFolder needs data_prefix=dict(img_path='<folder>'), got "
                             f'{data_prefix!r}.')
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root,
                         data_prefix=data_prefix, **kwargs)

    @property
    def img_prefix(self) -> str:
        """The image folder (``data_root`` joined with ``data_prefix['img_path']``)."""
        return self.data_prefix['img_path']

    def load_data_list(self) -> List[dict]:
        """Collect image paths.

        Returns:
            list[dict]: One ``{'img_path': str}`` per image.

        Raises:
            FileNotFoundError: If the image folder or the list file does not exist, no image
                is found, or the first listed image is missing.
        """
        img_dir = osp.normpath(self.img_prefix) if self.img_prefix else ''
        if not osp.isdir(img_dir or os.curdir):
            raise FileNotFoundError(
                f"Image folder '{img_dir}' does not exist (data_root={self.data_root!r}, "
                f"data_prefix={self.data_prefix!r}). Point data_root / data_prefix['img_path'] at a "
                'folder of images, e.g. generate one with `python tools/misc/make_demo_data.py '
                '--out data/demo` and use data_root="data/demo/unlabeled".')
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(
                    f"Image list file '{self.ann_file}' does not exist. Fix `ann_file` (relative to "
                    f'data_root={self.data_root!r}) or set ann_file="" to use every image under '
                    f"'{img_dir}'.")
            rel_paths = read_image_list(self.ann_file)
            source = f"list file '{self.ann_file}'"
        else:
            rel_paths = list_images(img_dir or os.curdir, self.extensions)
            source = f"folder '{img_dir}' (searched recursively for {', '.join(self.extensions)})"
        if not rel_paths:
            raise FileNotFoundError(f'No images found in {source}. Check the path and `extensions`.')
        first = osp.join(img_dir, rel_paths[0])
        if not osp.isfile(first):
            raise FileNotFoundError(
                f"'{first}' (first entry of {source}) does not exist: paths in the list file must "
                "be relative to data_prefix['img_path'].")
        return [dict(img_path=osp.join(img_dir, p)) for p in rel_paths]
