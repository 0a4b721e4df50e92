"""Karpathy-split COCO / Flickr30K (``dataset_coco.json``, ``dataset_flickr30k.json``): retrieval and captioning."""
import os.path as osp
from collections import Counter
from typing import Iterator, List, Optional, Tuple

from mmengine.dataset import BaseDataset
from mmpretrain.datasets.flickr30k_retrieval import Flickr30kRetrieval  # not exported without transformers

from beitmm.registry import DATASETS

from .common import ImageChecker, check_text, load_json, require_keys

KARPATHY_SPLITS = {'train': ('train', 'restval'), 'val': ('val', ), 'test': ('test', )}
FLICKR_FOLDER = 'flickr30k-images'  # Flickr30K entries have no `filepath`; unilm keeps them here
LAYOUT = ('expected <data_root>/dataset_coco.json with images under <data_root>/<filepath>/<filename> '
          '(train2014/, val2014/), or <data_root>/dataset_flickr30k.json with images under '
          f'<data_root>/{FLICKR_FOLDER}/<filename>')


def karpathy_images(ann_file: str, split: str, img_root: str, default_folders: bool,
                    checker: ImageChecker, dataset: str) -> Iterator[Tuple[dict, str, List[dict]]]:
    """Yield the checked images of a Karpathy split.

    Args:
        ann_file: ``dataset_coco.json`` or ``dataset_flickr30k.json``.
        split: 'train' (Karpathy train + restval), 'val' or 'test'.
        img_root: Folder the image paths are relative to.
        default_folders: Put entries without ``filepath`` (Flickr30K) under ``flickr30k-images/``.
        checker: Checks the image files.
        dataset: Dataset name for the messages.

    Yields:
        tuple[dict, str, list[dict]]: The image entry, its path and its sentences.
    """
    if split not in KARPATHY_SPLITS:
        raise ValueError(f'{dataset}: split must be one of {list(KARPATHY_SPLITS)}, got {split!r}')
    doc = load_json(ann_file, f'{dataset} annotation', LAYOUT)
    if not isinstance(doc, dict) or not isinstance(doc.get('images'), list):
        raise ValueError(f"{dataset}: '{ann_file}' has no 'images' list; {LAYOUT}")
    found = Counter()
    for i, entry in enumerate(doc['images']):
        where = f"'{ann_file}' images[{i}]"
        require_keys(entry, ('filename', 'split', 'sentences', 'imgid'), where)
        found[entry['split']] += 1
        if entry['split'] not in KARPATHY_SPLITS[split]:
            continue
        where = f"{where} (imgid {entry['imgid']}, '{entry['filename']}')"
        folder = entry.get('filepath', FLICKR_FOLDER if default_folders else '')
        img_path = osp.join(img_root, folder, entry['filename'])
        checker.check(img_path, f'{dataset} {where}')
        for sent in entry['sentences']:
            require_keys(sent, ('raw', 'sentid'), where)
            if not str(sent['raw']).strip():
                raise ValueError(f"{dataset} {where}: sentid {sent['sentid']} is an empty caption")
            check_text(str(sent['raw']), f"{dataset} {where}: sentid {sent['sentid']}")
        yield entry, img_path, entry['sentences']
    if not any(found[s] for s in KARPATHY_SPLITS[split]):
        raise ValueError(f"{dataset}: '{ann_file}' has no image of Karpathy split(s) {KARPATHY_SPLITS[split]} "
                         f'(it has {dict(found)}): annotations for the wrong split?')


# Subclasses mmpretrain's Flickr30kRetrieval for its item contract (its RetrievalValLoop relies on it);
# mmpretrain reads a single Karpathy split name and no `filepath`, so COCO (train = train + restval) fails.
def karpathy_options(dataset, name: str, split: str, data_prefix: Optional[str], check_images: bool) -> None:
    """Check the split and set ``default_folders`` / ``check_images`` on a Karpathy dataset before it loads.

    Args:
        dataset: The dataset being built.
        name: Its class name, for the error message.
        split: 'train', 'val' or 'test'.
        data_prefix: The image folder argument (None: the default COCO / Flickr30K folders).
        check_images: Check that every image file exists.
    """
    if split not in KARPATHY_SPLITS:
        raise ValueError(f'{name}: split must be one of {list(KARPATHY_SPLITS)}, got {split!r}')
    dataset.default_folders = data_prefix is None
    dataset.check_images = check_images


@DATASETS.register_module()
class KarpathyRetrieval(Flickr30kRetrieval):
    """Image-text retrieval on a Karpathy split file, with the items of mmpretrain's ``Flickr30kRetrieval``.

    Train (``test_mode=False``): one item per caption with ``text``, ``ori_id`` (sentid), ``text_id``
    (running caption index), ``image_ori_id`` (imgid), ``image_id`` (running image index of the
    split), ``img_path`` and ``is_matched=True``. ``test_mode=True``: one item per image with
    ``ori_id``, ``image_id``, ``img_path``, ``text`` (its captions), ``gt_text_id`` and
    ``gt_image_id``. The dataset sets ``img_size`` / ``text_size`` for mmpretrain's
    ``RetrievalValLoop`` / ``RetrievalTestLoop``.

    Layout: COCO images at ``data_root/<filepath>/<filename>`` (``train2014/``, ``val2014/``), Flickr30K
    images (no ``filepath``) at ``data_root/flickr30k-images/<filename>``; a ``data_prefix`` is put
    before both. Split 'train' is Karpathy train + restval (COCO: 113,287 images), 'val' and 'test'
    are the 5k (COCO) / 1k (Flickr30K) splits.

    Args:
        data_root: Dataset root.
        ann_file: Karpathy split file, relative to ``data_root``. Defaults to 'dataset_coco.json'.
        split: 'train', 'val' or 'test'. Defaults to 'train'.
        data_prefix: Image folder relative to ``data_root``; None for the layout above. Defaults to None.
        check_images: Check that every image file exists. Defaults to True.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset`` (``pipeline``, ``test_mode``, ...).
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str = 'dataset_coco.json',
                 split: str = 'train',
                 data_prefix: Optional[str] = None,
                 check_images: bool = True,
                 **kwargs) -> None:
        karpathy_options(self, 'KarpathyRetrieval', split, data_prefix, check_images)
        super().__init__(data_root=data_root, data_prefix=data_prefix or '', ann_file=ann_file, split=split,
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the split.

        Returns:
            list[dict]: Per-caption items, or per-image items in ``test_mode`` (see the class docstring).
        """
        images, captions = [], []
        for entry, img_path, sentences in karpathy_images(
                self.ann_file, self.split, self.data_prefix['img_path'], self.default_folders,
                ImageChecker(self.check_images), 'KarpathyRetrieval'):
            image = dict(ori_id=entry['imgid'], image_id=len(images), img_path=img_path, text=[], gt_text_id=[],
                         gt_image_id=[])
            for sent in sentences:
                captions.append(dict(text=sent['raw'], ori_id=sent['sentid'], text_id=len(captions),
                                     image_ori_id=entry['imgid'], image_id=image['image_id'], img_path=img_path,
                                     is_matched=True))
                image['text'].append(sent['raw'])
                image['gt_text_id'].append(len(captions) - 1)
                image['gt_image_id'].append(image['image_id'])
            images.append(image)
        self.img_size, self.text_size = len(images), len(captions)
        return images if self.test_mode else captions


# Replaces mmpretrain's COCOCaption, which reads LAVIS `coco_karpathy_*.json` lists, not `dataset_coco.json`.
@DATASETS.register_module()
class KarpathyCaption(BaseDataset):
    """Captioning on the Karpathy split (``dataset_coco.json``; ``dataset_flickr30k.json`` works too).

    Train: one item per caption (Karpathy train + restval) with ``img_path``, ``gt_caption`` (the raw
    caption) and ``image_id``. Val / test: one item per image with ``img_path``, ``image_id`` and
    ``gt_caption`` (list of its raw reference captions). ``image_id`` is the ``cocoid`` (the id of
    the COCO caption ground truth), or the ``imgid`` when there is none (Flickr30K). An empty caption
    raises an error naming the image and sentid.

    Args:
        data_root: Dataset root (images at ``<data_root>/<filepath>/<filename>``, as
            :class:`KarpathyRetrieval`).
        ann_file: Karpathy split file, relative to ``data_root``. Defaults to 'dataset_coco.json'.
        split: 'train', 'val' or 'test'. Defaults to 'train'.
        data_prefix: Image folder relative to ``data_root``; None for the default layout. Defaults to None.
        check_images: Check that every image file exists. Defaults to True.
        **kwargs: Other arguments of mmengine's ``BaseDataset`` (``pipeline``, ``test_mode``, ...).
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str = 'dataset_coco.json',
                 split: str = 'train',
                 data_prefix: Optional[str] = None,
                 check_images: bool = True,
                 **kwargs) -> None:
        karpathy_options(self, 'KarpathyCaption', split, data_prefix, check_images)
        self.split = split
        super().__init__(data_root=data_root, ann_file=ann_file, data_prefix=dict(img_path=data_prefix or ''),
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the split.

        Returns:
            list[dict]: Per-caption (train) or per-image (val / test) items.
        """
        data_list = []
        for entry, img_path, sentences in karpathy_images(
                self.ann_file, self.split, self.data_prefix['img_path'], self.default_folders,
                ImageChecker(self.check_images), 'KarpathyCaption'):
            image_id = int(entry.get('cocoid', entry['imgid']))
            if self.split == 'train':
                data_list.extend(dict(img_path=img_path, gt_caption=s['raw'], image_id=image_id) for s in sentences)
            else:
                data_list.append(dict(img_path=img_path, image_id=image_id, gt_caption=[s['raw'] for s in sentences]))
        return data_list

    def coco_ground_truth(self) -> dict:
        """The references of a val / test split in the COCO caption format (for pycocoevalcap).

        Returns:
            dict: ``{'images': [{'id'}], 'annotations': [{'image_id', 'id', 'caption'}]}``.
        """
        if self.split == 'train':
            raise ValueError('KarpathyCaption.coco_ground_truth: the train split has one item per caption; '
                             "use split='val' or 'test'.")
        images, annotations = [], []
        for i in range(len(self)):
            info = self.get_data_info(i)
            images.append(dict(id=info['image_id']))
            annotations.extend(dict(image_id=info['image_id'], id=len(annotations), caption=c)
                               for c in info['gt_caption'])
        return dict(images=images, annotations=annotations)
