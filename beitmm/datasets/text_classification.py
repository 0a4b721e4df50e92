"""Text classification data: JSON lines ``{"text": ..., "label": ...}`` (the layout of HF ``datasets`` JSON exports).

Each non-blank line is one example; ``label`` is either an integer class index or a class name. With ``classes``
given (or in the file's first line ``{"classes": [...]}``) names map to their index; otherwise names are sorted
and numbered. Items carry ``text`` (str), ``gt_label`` (int, what mmpretrain's ``PackInputs`` / ``Accuracy`` read)
and ``line`` (0-based index of the example).
"""
import json
from typing import List, Optional, Sequence

from mmengine.dataset import BaseDataset

from beitmm.registry import DATASETS
from beitmm.text.base import check_text

from .vl.common import iter_text_lines


@DATASETS.register_module()
class TextClassificationDataset(BaseDataset):
    """Labelled texts from a JSON lines file.

    Args:
        ann_file: The ``.jsonl`` / ``.json`` file (relative to ``data_root``).
        classes: Class names (index = position); None: from a ``{"classes": [...]}`` header line, else the
            sorted label names (integer labels need no names).
        data_root: Root of ``ann_file``.
        **kwargs: The other arguments of ``mmengine.dataset.BaseDataset`` (``pipeline``, ``indices``, ...).
    """

    METAINFO: dict = dict(task='text_classification')

    def __init__(self, ann_file: str, classes: Optional[Sequence[str]] = None, data_root: str = '',
                 **kwargs) -> None:
        self._classes = list(classes) if classes is not None else None
        kwargs.setdefault('data_prefix', dict())
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the examples.

        Returns:
            One dict per example: ``text``, ``gt_label``, ``line``.
        """
        rows, path = [], self.ann_file
        # strict UTF-8 (a bad byte names file, line and offset); texts checked for lone surrogates
        for lineno, raw in iter_text_lines(path, 'TextClassificationDataset'):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError as e:
                raise ValueError(f'TextClassificationDataset: {path} line {lineno} is not valid JSON ({e})') \
                    from None
            if isinstance(obj, dict) and 'classes' in obj and 'text' not in obj:
                self._classes = self._classes or [str(c) for c in obj['classes']]
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get('text'), str) or 'label' not in obj:
                raise ValueError(f'TextClassificationDataset: {path} line {lineno}: expected an object with a '
                                 f'string "text" and a "label", got {raw[:80]!r}')
            text = check_text(obj['text'], f'TextClassificationDataset: {path} line {lineno}')
            rows.append((lineno, text.strip(), obj['label']))
        names = sorted({str(lab) for _, _, lab in rows if not isinstance(lab, int)})
        if self._classes is None and names:
            self._classes = names
        index = {c: i for i, c in enumerate(self._classes or [])}
        items = []
        for lineno, text, label in rows:
            if isinstance(label, bool) or not isinstance(label, (int, str)):
                raise ValueError(f'TextClassificationDataset: {path} line {lineno}: "label" must be an int or a '
                                 f'class name, got {label!r}')
            if isinstance(label, str):
                if label not in index:
                    raise ValueError(f'TextClassificationDataset: {path} line {lineno}: label {label!r} is not one '
                                     f'of the classes {self._classes}')
                label = index[label]
            elif label < 0 or (self._classes and label >= len(self._classes)):
                raise ValueError(f'TextClassificationDataset: {path} line {lineno}: label {label} outside '
                                 f'[0, {len(self._classes or []) or "num_classes"})')
            items.append(dict(text=text, gt_label=label, line=len(items)))
        if self._classes:
            self._metainfo['classes'] = tuple(self._classes)
        return items
