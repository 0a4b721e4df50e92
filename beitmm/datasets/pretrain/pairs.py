"""Image-text pairs from a JSON-lines (or JSON list) annotation file plus an image folder, or an img2dataset folder.

Layouts read (``data_root`` / ``data_prefix['img_path']`` / ``ann_file``):

- JSON lines, one pair per line: ``{"image": "relative/path.jpg", "caption": "a red circle."}`` (beitmm's layout,
  written by ``beitmm.testing.synthetic_pretrain``); the keys are ``image_key`` / ``text_key``; a list of captions
  gives one pair per caption (COCO / VG style).
- A JSON list of the same objects: the LAVIS / BLIP pretraining lists (``coco_karpathy_train.json``,
  ``vg_caption.json``, ``cc3m.json``: ``[{"image": ..., "caption": ...}]``).
- ``ann_file=''``: an img2dataset ``output_format="files"`` folder: ``00000/000000000.jpg`` with its caption in
  ``00000/000000000.txt`` (and ``.json`` metadata, ignored); images without a ``.txt`` are left out, counted.

img2dataset's ``webdataset`` output (tar shards) is read by ``beitmm.WebDatasetPairs``.
"""
import logging
import os.path as osp
from typing import List, Optional

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from beitmm.registry import DATASETS

from ..unlabeled import list_images
from ..vl.common import check_text, decode_text, iter_json_lines, load_json, require_keys

LAYOUT = ("expected JSON lines {'image': <path relative to data_prefix['img_path']>, 'caption': <text>}, a JSON list "
          "of such objects, or ann_file='' for an img2dataset 'files' folder.")


@DATASETS.register_module()
class ImageTextPairDataset(BaseDataset):
    """Image-text pairs: each sample is ``{'img_path', 'text', 'sample_idx'}`` before the pipeline.

    Args:
        data_root: Root of ``ann_file`` and ``data_prefix``.
        ann_file: ``.jsonl`` / ``.json`` annotation file, or '' for an img2dataset folder (see the module doc).
        data_prefix: ``dict(img_path=<image folder>)``.
        image_key: Key of the image path in an annotation object.
        text_key: Key of the caption (a string or a list of strings).
        **kwargs: Other arguments of mmengine's ``BaseDataset`` (``pipeline``, ``serialize_data``, ...).
    """

    def __init__(self, data_root: str = '', ann_file: str = '', data_prefix: Optional[dict] = None,
                 image_key: str = 'image', text_key: str = 'caption', **kwargs) -> None:
        self.image_key, self.text_key = image_key, text_key
        data_prefix = dict(img_path='') if data_prefix is None else data_prefix
        if not isinstance(data_prefix, dict) or 'img_path' not in data_prefix:
            raise ValueError(f"ImageTextPairDataset needs data_prefix=dict(img_path='<folder>'), got {data_prefix!r}")
        super().__init__(data_root=data_root, ann_file=ann_file, data_prefix=data_prefix, **kwargs)

    def _entries(self):
        if self.ann_file.endswith('.jsonl'):
            for lineno, obj in iter_json_lines(self.ann_file, 'image-text pairs', LAYOUT):
                yield f"'{self.ann_file}' line {lineno}", obj
        elif self.ann_file.endswith('.json'):
            doc = load_json(self.ann_file, 'image-text pairs', LAYOUT)
            if not isinstance(doc, list):
                raise ValueError(f"image-text pairs file '{self.ann_file}' is a JSON {type(doc).__name__}; {LAYOUT}")
            for i, obj in enumerate(doc):
                yield f"'{self.ann_file}' entry {i}", obj
        else:
            raise ValueError(f"ImageTextPairDataset: ann_file '{self.ann_file}' must end with .jsonl or .json; "
                             f'{LAYOUT}')

    def _folder(self, img_dir: str) -> List[dict]:
        pairs, missing = [], 0
        for rel in list_images(img_dir):
            txt = osp.splitext(osp.join(img_dir, rel))[0] + '.txt'
            if not osp.isfile(txt):
                missing += 1
                continue
            with open(txt, 'rb') as f:
                text = decode_text(f.read(), txt, 'image-text pairs caption').strip()
            pairs.append(dict(img_path=osp.join(img_dir, rel), text=text))
        if missing:
            print_log(f"ImageTextPairDataset: {missing} image(s) in '{img_dir}' have no caption .txt and are left "
                      'out', logger='current', level=logging.WARNING)
        return pairs

    def load_data_list(self) -> List[dict]:
        """Read the pairs.

        Returns:
            list[dict]: One ``{'img_path', 'text'}`` per pair (per caption).

        Raises:
            FileNotFoundError: The image folder or the annotation file is missing, or the first image is.
        """
        img_dir = self.data_prefix['img_path']
        if not osp.isdir(img_dir or '.'):
            raise FileNotFoundError(f"ImageTextPairDataset: image folder '{img_dir}' does not exist (data_root="
                                    f"{self.data_root!r}, data_prefix={self.data_prefix!r}). Synthetic data: "
                                    'beitmm.testing.synthetic_pretrain.make_pretrain_data.')
        if not self.ann_file:
            pairs = self._folder(img_dir)
        else:
            pairs = []
            for where, obj in self._entries():
                require_keys(obj, (self.image_key, self.text_key), where)
                texts = obj[self.text_key]
                for text in ([texts] if isinstance(texts, str) else texts):
                    if not isinstance(text, str):
                        raise ValueError(f'{where}: {self.text_key!r} must be a string or a list of strings')
                    check_text(text, where)
                    pairs.append(dict(img_path=osp.join(img_dir, obj[self.image_key]), text=text))
        if not pairs:
            raise ValueError(f"ImageTextPairDataset: no pairs in {self.ann_file or img_dir!r}; {LAYOUT}")
        if not osp.isfile(pairs[0]['img_path']):
            raise FileNotFoundError(f"ImageTextPairDataset: '{pairs[0]['img_path']}' (the first pair's image) does "
                                    "not exist: image paths must be relative to data_prefix['img_path'].")
        return pairs
