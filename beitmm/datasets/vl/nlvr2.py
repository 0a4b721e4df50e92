"""NLVR2 in the lil-lab/nlvr release layout (train images in ``images/train/{directory}/``)."""
import os.path as osp
from typing import List, Optional

from mmengine.dataset import BaseDataset

from beitmm.registry import DATASETS

from .common import ImageChecker, check_text, iter_json_lines, join_root, require_keys

SPLIT_ALIASES = {'train': 'train', 'dev': 'dev', 'val': 'dev', 'test1': 'test1', 'test': 'test1',
                 'test-P': 'test1'}
IMAGE_FOLDERS = {'train': 'images/train', 'dev': 'dev', 'test1': 'test1'}
LABELS = {'True': 1, 'False': 0}
LAYOUT = ('expected <data_root>/{train,dev,test1}.json (JSON lines of lil-lab/nlvr nlvr2/data/) and images '
          '<data_root>/images/train/<directory>/<identifier minus -N>-img{0,1}.png, '
          '<data_root>/dev/..., <data_root>/test1/...')


# Replaces mmpretrain's NLVR2: it ignores `directory`, so the released train layout does not load.
@DATASETS.register_module()
class NLVR2(BaseDataset):
    """NLVR2 statements about image pairs, read from the released JSON-lines files.

    Layout (unilm BEiT-3's ``get_started_for_nlvr2.md``; the JSON files are ``nlvr2/data/*.json`` of
    the lil-lab/nlvr repository: pass ``ann_file='nlvr/nlvr2/data/train.json'`` to read them in place)::

        data_root/train.json  dev.json  test1.json
        data_root/images/train/<directory>/train-10171-0-img0.png  (and -img1.png)
        data_root/dev/dev-269-0-img0.png
        data_root/test1/test1-261-0-img0.png

    The images of identifier ``split-set-pair-sentence`` are ``split-set-pair-img0.png`` / ``-img1.png``,
    inside ``<directory>/`` when the line has a ``directory`` field (the train split). A label other
    than "True" / "False", an identifier of another split or a missing image raises an error naming
    the line and identifier.

    Items: ``img_path`` (list of the 2 paths, for ``mmpretrain.ApplyToList``), ``text`` (str),
    ``gt_label`` (1 for "True", 0 for "False"), ``identifier`` (str).

    Args:
        data_root: Dataset root.
        split: 'train', 'dev' or 'test1' ('val', 'test' and 'test-P' are aliases of the last two).
            Defaults to 'train'.
        ann_file: JSON-lines file relative to ``data_root``; None means ``<split>.json``. Defaults to None.
        image_folder: Image folder relative to ``data_root``; None means 'images/train' for train,
            else the split name. Defaults to None.
        check_images: Check that every image file exists. Defaults to True.
        **kwargs: Other arguments of mmengine's ``BaseDataset`` (``pipeline``, ``test_mode``, ...).
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 ann_file: Optional[str] = None,
                 image_folder: Optional[str] = None,
                 check_images: bool = True,
                 **kwargs) -> None:
        if split not in SPLIT_ALIASES:
            raise ValueError(f'NLVR2: split must be one of {list(SPLIT_ALIASES)}, got {split!r}')
        self.split = SPLIT_ALIASES[split]
        self.image_folder = join_root(data_root, image_folder or IMAGE_FOLDERS[self.split])
        self.check_images = check_images
        super().__init__(data_root=data_root, ann_file=ann_file or f'{self.split}.json', **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the statements.

        Returns:
            list[dict]: One item per line (fields in the class docstring).
        """
        checker = ImageChecker(self.check_images)
        data_list = []
        for lineno, ex in iter_json_lines(self.ann_file, 'NLVR2', LAYOUT):
            where = f"'{self.ann_file}' line {lineno}"
            require_keys(ex, ('identifier', 'sentence', 'label'), where)
            identifier = ex['identifier']
            where = f'{where} (identifier {identifier!r})'
            if ex['label'] not in LABELS:
                raise ValueError(f'NLVR2 {where}: label {ex["label"]!r} is not "True" or "False"')
            if not identifier.startswith(self.split + '-'):
                raise ValueError(f"NLVR2 {where}: not an identifier of split '{self.split}': annotations "
                                 'for the wrong split?')
            if not str(ex['sentence']).strip():
                raise ValueError(f'NLVR2 {where}: empty sentence')
            check_text(str(ex['sentence']), f'NLVR2 {where}')
            folder = self.image_folder
            if 'directory' in ex:  # train images are spread over 100 numbered folders
                folder = osp.join(folder, str(ex['directory']))
            stem = identifier.rsplit('-', 1)[0]
            img_path = [osp.join(folder, f'{stem}-img{i}.png') for i in range(2)]
            for path in img_path:
                checker.check(path, f'NLVR2 {where}')
            data_list.append(dict(img_path=img_path, text=ex['sentence'], gt_label=LABELS[ex['label']],
                                  identifier=identifier))
        if not data_list:
            raise ValueError(f"NLVR2: '{self.ann_file}' has no statements")
        return data_list
