"""NoCaps (novel object captioning) val / test in the released layout that unilm BEiT-3 reads."""
import os.path as osp
from collections import Counter
from typing import Dict, List

from mmengine.dataset import BaseDataset

from beitmm.registry import DATASETS

from .common import ImageChecker, load_json, require_keys

# split -> (released image-info file, image folder): unilm beit3/datasets.py:200-213, get_started_for_captioning.md
NOCAPS_FILES = {'val': 'nocaps_val_4500_captions.json', 'test': 'nocaps_test_image_info.json'}
LAYOUT = ('expected <data_root>/nocaps_val_4500_captions.json and nocaps_test_image_info.json (from nocaps.org), '
          'images under <data_root>/val/<file_name> and <data_root>/test/<file_name>')


@DATASETS.register_module()
class NoCapsCaption(BaseDataset):
    """NoCaps val / test images, one item per image, as unilm's ``nocaps`` task (``datasets.py:195-223,701-708``).

    Layout (``get_started_for_captioning.md``, "NoCaps Setup")::

        data_root/val/09c863d76bcf6b00.jpg ...      data_root/nocaps_val_4500_captions.json
        data_root/test/19dc6913830a0a21.jpg ...     data_root/nocaps_test_image_info.json

    Every entry of the file's ``images`` list (``id``, ``file_name``; ``domain`` when present) becomes an item
    with ``img_path`` = ``<data_root>/<split>/<file_name>``, ``image_id`` = ``id`` (the id the EvalAI server
    expects) and ``domain`` ('in-domain', 'near-domain', 'out-domain'). The val file also holds the references
    (``annotations``: ``image_id``, ``caption``; 10 per image): val items get them as ``gt_caption`` (list of str),
    scored by ``beitmm.CaptionMetric``; an image without one is an error. The test references are not public
    (scores come from the EvalAI server only), so test items have no ``gt_caption``. NoCaps has no training split:
    unilm trains on COCO captioning (Karpathy train + restval).

    Args:
        data_root: Dataset root (see the layout above).
        split: 'val' or 'test'. Defaults to 'val'.
        check_images: Check that every image file exists. Defaults to True.
        **kwargs: Other arguments of mmengine's ``BaseDataset`` (``pipeline``, ``indices``, ...).
    """

    def __init__(self, data_root: str, split: str = 'val', check_images: bool = True, **kwargs) -> None:
        if split not in NOCAPS_FILES:
            raise ValueError(f'NoCapsCaption: split must be one of {list(NOCAPS_FILES)}, got {split!r} (NoCaps has '
                             'no training split: train on COCO captioning)')
        self.split, self.check_images = split, check_images
        super().__init__(data_root=data_root, ann_file=NOCAPS_FILES[split], **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the split's image-info file.

        Returns:
            list[dict]: One item per image (fields in the class docstring).
        """
        doc = load_json(self.ann_file, 'NoCaps', LAYOUT)
        if not isinstance(doc, dict) or not isinstance(doc.get('images'), list):
            raise ValueError(f"NoCapsCaption: '{self.ann_file}' has no 'images' list; {LAYOUT}")
        refs: Dict[int, List[str]] = {}
        for i, ann in enumerate(doc.get('annotations') or []):
            require_keys(ann, ('image_id', 'caption'), f"'{self.ann_file}' annotations[{i}]")
            refs.setdefault(int(ann['image_id']), []).append(str(ann['caption']))
        if self.split == 'val' and not refs:
            raise ValueError(f"NoCapsCaption: '{self.ann_file}' has no 'annotations' (references): the val split "
                             f'needs {NOCAPS_FILES["val"]}, not an image-info-only file')
        checker, data_list = ImageChecker(self.check_images), []
        for i, entry in enumerate(doc['images']):
            where = f"'{self.ann_file}' images[{i}]"
            require_keys(entry, ('id', 'file_name'), where)
            image_id = int(entry['id'])
            img_path = osp.join(self.data_root, self.split, entry['file_name'])
            checker.check(img_path, f"NoCaps {where} (id {image_id})")
            item = dict(img_path=img_path, image_id=image_id, domain=entry.get('domain', ''))
            if self.split == 'val':
                if image_id not in refs:
                    raise ValueError(f'NoCapsCaption: {where} (id {image_id}) has no reference caption in '
                                     "'annotations'")
                item['gt_caption'] = refs[image_id]
            data_list.append(item)
        dupes = [k for k, n in Counter(d['image_id'] for d in data_list).items() if n > 1]
        if dupes:
            raise ValueError(f"NoCapsCaption: '{self.ann_file}' lists image ids more than once, e.g. {dupes[:5]}")
        return data_list
