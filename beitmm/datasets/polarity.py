"""Real movie-review polarity sentences in fastText's ``__label__X text`` layout (gensim's ``pang_lee_polarity.cor``).

gensim ships 200 sentences of Pang & Lee's sentence polarity data (100 ``__label__neg`` then 100
``__label__pos``, Windows-1252 bytes). The split is fixed: per label, the first ``train_fraction`` of its sentences
in file order are ``train``, the rest ``test`` (0.8: 160 / 40, balanced). Classes: ``('neg', 'pos')``.
"""
import math
from typing import List

from mmengine.dataset import BaseDataset

from beitmm.datasets.real_files import MISSING_HINT, polarity_file
from beitmm.registry import DATASETS
from beitmm.text.base import check_text

PREFIX = '__label__'


@DATASETS.register_module()
class PolarityDataset(BaseDataset):
    """Labelled sentences ``__label__<class> <text>``, one a line, split per label in file order.

    Args:
        ann_file: The file; empty: gensim's installed ``test/test_data/pang_lee_polarity.cor``.
        split: ``'train'`` (the first ``train_fraction`` of each label) or ``'test'`` (the rest).
        train_fraction: Share of each label's sentences in ``train`` (a choice: 0.8).
        encoding: Text encoding (gensim's file is ``cp1252``).
        **kwargs: The other arguments of ``mmengine.dataset.BaseDataset``.
    """

    def __init__(self, ann_file: str = '', split: str = 'train', train_fraction: float = 0.8,
                 encoding: str = 'cp1252', **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f"PolarityDataset: split must be 'train' or 'test', got {split!r}")
        if not 0 < train_fraction < 1:
            raise ValueError(f'PolarityDataset: train_fraction must lie in (0, 1), got {train_fraction}')
        if not ann_file:
            ann_file = polarity_file() or ''
            if not ann_file:
                raise FileNotFoundError(f'PolarityDataset: gensim test data not installed ({MISSING_HINT}); '
                                        'or give ann_file')
        self.split, self.train_fraction, self.encoding = split, train_fraction, encoding
        kwargs.setdefault('data_prefix', dict())
        kwargs.setdefault('metainfo', dict(classes=('neg', 'pos')))
        super().__init__(ann_file=ann_file, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read and split the sentences.

        Returns:
            One dict per sentence of the split: ``text``, ``gt_label``, ``line`` (1-based line of the file).
        """
        classes = list(self.metainfo['classes'])
        per_label = {c: [] for c in classes}
        with open(self.ann_file, 'rb') as f:
            for lineno, raw in enumerate(f, 1):
                where = f'PolarityDataset: {self.ann_file} line {lineno}'
                try:
                    line = raw.decode(self.encoding).strip()
                except UnicodeDecodeError as e:
                    raise ValueError(f'{where}: not {self.encoding} text ({e})') from None
                if not line:
                    continue
                tag, _, text = line.partition(' ')
                label = tag[len(PREFIX):] if tag.startswith(PREFIX) else None
                if label not in per_label or not text.strip():
                    raise ValueError(f'{where}: expected "{PREFIX}<{"|".join(classes)}> <text>", got {line[:80]!r}')
                per_label[label].append(dict(text=check_text(text.strip(), where), gt_label=classes.index(label),
                                             line=lineno))
        items = []
        for rows in per_label.values():
            cut = math.floor(len(rows) * self.train_fraction)
            items += rows[:cut] if self.split == 'train' else rows[cut:]
        return sorted(items, key=lambda r: r['line'])
