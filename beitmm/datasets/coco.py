"""COCO instance annotations with named errors and counted skips (mmdet ``CocoDataset`` underneath).

mmdet 3.3's ``CocoDataset`` drops an annotation whose category id the file does not declare without a word, fails
with a bare ``KeyError: 'mask'`` in the pipeline on an empty ``segmentation`` list, and finds a missing image only
when the loader reaches it (``FileNotFoundError`` from the file client, without the image id). This subclass checks
the whole file when the data list is loaded:

- a missing annotation file or image: ``FileNotFoundError`` naming the file (and the image id);
- a ``category_id`` outside the file's ``categories``: ``ValueError`` naming the annotation id, image id and file;
- a degenerate box (zero area inside the image, width or height < 1, ``area <= 0``): skipped as mmdet does, and
  counted;
- an empty or invalid polygon list (no polygon of >= 3 points): the annotation is skipped and counted (mmdet's
  loader would crash on ``[]`` and ignore the others).

The counts are logged once per dataset with the first annotation ids of each kind (``skipped`` holds them).
"""
import os.path as osp
from typing import Dict, List

from mmdet.datasets import CocoDataset
from mmengine.logging import MMLogger

from beitmm.registry import DATASETS

COCO_LAYOUT = ('expected the COCO 2017 layout: <data_root>/annotations/instances_{train,val}2017.json, '
               '<data_root>/train2017/, <data_root>/val2017/')


def _box_kept(ann: dict, width: int, height: int) -> bool:
    """The box rule of mmdet (``CocoDataset.parse_data_info``): positive overlap with the image, w, h >= 1, area > 0."""
    x1, y1, w, h = ann['bbox']
    inter_w = max(0, min(x1 + w, width) - max(x1, 0))
    inter_h = max(0, min(y1 + h, height) - max(y1, 0))
    return inter_w * inter_h > 0 and ann['area'] > 0 and w >= 1 and h >= 1


def _polygons_ok(segmentation) -> bool:
    """A polygon list with at least one polygon of >= 3 points (RLE dicts are left to pycocotools)."""
    if not isinstance(segmentation, list):
        return True
    return any(len(p) % 2 == 0 and len(p) >= 6 for p in segmentation)


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """mmdet ``CocoDataset`` that checks its annotation file and images (see the module docstring).

    Args:
        check_images: Check at load time that every listed image exists (one ``stat`` per image).
        **kwargs: ``mmdet.CocoDataset`` arguments.
    """

    def __init__(self, *args, check_images: bool = True, **kwargs) -> None:
        self.check_images = check_images
        self.skipped: Dict[str, List[int]] = {'degenerate box': [], 'empty polygon': []}
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """The list of mmdet, after checking the file exists; then the image check and the skip counts."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f"COCO annotation file '{self.ann_file}' does not exist; {COCO_LAYOUT}")
        data_list = super().load_data_list()
        if self.check_images:
            missing = [(d['img_id'], d['img_path']) for d in data_list if not osp.isfile(d['img_path'])]
            if missing:
                first = ', '.join(f"'{p}' (image id {i})" for i, p in missing[:3])
                raise FileNotFoundError(f"{len(missing)} image(s) listed in '{self.ann_file}' do not exist: {first}"
                                        f"{' ...' if len(missing) > 3 else ''}; {COCO_LAYOUT}")
        for kind, ids in self.skipped.items():
            if ids:
                MMLogger.get_current_instance().warning(
                    f"{osp.basename(self.ann_file)}: skipped {len(ids)} annotation(s) with a {kind} "
                    f"(annotation ids {ids[:5]}{' ...' if len(ids) > 5 else ''})")
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """Check each annotation, drop and count the unusable ones, then mmdet's parsing."""
        img = raw_data_info['raw_img_info']
        kept = []
        cats = self.coco.cats  # every category the file declares
        for ann in raw_data_info['raw_ann_info']:
            if ann.get('ignore', False):
                kept.append(ann)
                continue
            if ann['category_id'] not in cats:
                raise ValueError(
                    f"'{self.ann_file}': annotation id {ann.get('id')} (image id {img['img_id']}) has category_id "
                    f"{ann['category_id']}, which is not one of the file's categories {sorted(cats)[:10]}"
                    f"{' ...' if len(cats) > 10 else ''}")
            if ann['category_id'] not in self.cat2label:  # a class the config leaves out: mmdet drops it
                kept.append(ann)
            elif not _box_kept(ann, img['width'], img['height']):
                self.skipped['degenerate box'].append(ann.get('id'))
            elif 'segmentation' in ann and not _polygons_ok(ann['segmentation']):
                self.skipped['empty polygon'].append(ann.get('id'))
            else:
                kept.append(ann)
        return super().parse_data_info(dict(raw_data_info, raw_ann_info=kept))
