"""GLUE tasks in their released TSV layout (``glue_data/{CoLA,SST-2,MRPC,QQP,STS-B,MNLI,QNLI,RTE,WNLI}/*.tsv``).

Each file is tab-separated, no quoting (quotes are text, as ``transformers``' GLUE processors read them with
``quotechar=None``). Column layouts (0-based indices; test files have no label column):

======  ==============================  ===========  ======  ======  =====================================
task    folder / train, dev files        header       a       b       label
======  ==============================  ===========  ======  ======  =====================================
cola    CoLA / train, dev               none         3       -       1 (``0`` / ``1``); test: header, a=1
sst2    SST-2 / train, dev              yes          0       -       1 (``0`` / ``1``); test: a=1
mrpc    MRPC / train, dev               yes          3       4       0 (``Quality``); test: a=3, b=4
qqp     QQP / train, dev                yes          3       4       5 (``is_duplicate``); test: a=1, b=2
stsb    STS-B / train, dev              yes          7       8       9 (``score``, a float 0-5)
mnli    MNLI / train, dev_matched,      yes          8       9       last (``gold_label``: contradiction,
        dev_mismatched                                                entailment, neutral)
qnli    QNLI / train, dev               yes          1       2       3 (entailment, not_entailment)
rte     RTE / train, dev                yes          1       2       3 (entailment, not_entailment)
wnli    WNLI / train, dev               yes          1       2       3 (``0`` / ``1``)
======  ==============================  ===========  ======  ======  =====================================

Items carry ``text``, ``text_b`` (pair tasks), ``gt_label`` (int; classification) or ``gt_score`` (``[float]``:
STS-B, one element, as mmpretrain's ``PackInputs`` packs scores), ``line`` (1-based line of the file) and
``guid`` (``split-line``). A row with the wrong number of columns, an unknown label or bytes that are not UTF-8
raises an error naming the file and line.
"""
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Tuple

from mmengine.dataset import BaseDataset

from beitmm.registry import DATASETS
from beitmm.text.base import check_text


class GlueTask(NamedTuple):
    """One task's layout: folder, whether train / dev have a header, column of a, b, label, the label names."""

    folder: str
    header: bool
    a: int
    b: Optional[int]
    label: int  # -1: the last column
    labels: Optional[Tuple[str, ...]]  # None: regression (STS-B)
    test_a: int
    test_b: Optional[int]


_BIN = ('0', '1')
_NLI2 = ('entailment', 'not_entailment')
GLUE_TASKS: Dict[str, GlueTask] = {
    'cola': GlueTask('CoLA', False, 3, None, 1, _BIN, 1, None),
    'sst2': GlueTask('SST-2', True, 0, None, 1, _BIN, 1, None),
    'mrpc': GlueTask('MRPC', True, 3, 4, 0, _BIN, 3, 4),
    'qqp': GlueTask('QQP', True, 3, 4, 5, _BIN, 1, 2),
    'stsb': GlueTask('STS-B', True, 7, 8, 9, None, 7, 8),
    'mnli': GlueTask('MNLI', True, 8, 9, -1, ('contradiction', 'entailment', 'neutral'), 8, 9),
    'qnli': GlueTask('QNLI', True, 1, 2, 3, _NLI2, 1, 2),
    'rte': GlueTask('RTE', True, 1, 2, 3, _NLI2, 1, 2),
    'wnli': GlueTask('WNLI', True, 1, 2, 3, _BIN, 1, 2),
}
SPLITS = ('train', 'dev', 'test', 'dev_matched', 'dev_mismatched', 'test_matched', 'test_mismatched')


def glue_task(task: str) -> GlueTask:
    """The layout of ``task`` (lower case, ``sst2`` / ``sts-b`` / ``SST-2`` all accepted)."""
    key = task.lower().replace('-', '')
    if key not in GLUE_TASKS:
        raise KeyError(f'unknown GLUE task {task!r}; one of {sorted(GLUE_TASKS)}')
    return GLUE_TASKS[key]


@DATASETS.register_module()
class GLUEDataset(BaseDataset):
    """One split of one GLUE task from the released TSV files.

    Args:
        task: ``cola``, ``sst2``, ``mrpc``, ``qqp``, ``stsb``, ``mnli``, ``qnli``, ``rte`` or ``wnli``.
        split: ``train``, ``dev``, ``test``; MNLI: ``dev_matched``, ``dev_mismatched``, ``test_matched``,
            ``test_mismatched`` (``dev`` means ``dev_matched``).
        data_root: The ``glue_data`` folder (holding ``SST-2/`` etc.).
        ann_file: The TSV file; empty: ``{data_root}/{folder}/{split}.tsv``.
        **kwargs: The other arguments of ``mmengine.dataset.BaseDataset`` (``pipeline``, ``indices``, ...).
    """

    def __init__(self, task: str, split: str = 'train', data_root: str = '', ann_file: str = '', **kwargs) -> None:
        self.task_name, self.task = task.lower().replace('-', ''), glue_task(task)
        if split not in SPLITS:
            raise ValueError(f'GLUEDataset: split must be one of {SPLITS}, got {split!r}')
        if self.task_name == 'mnli' and split in ('dev', 'test'):
            split += '_matched'
        self.split = split
        if not ann_file:
            ann_file = osp.join(self.task.folder, f'{split}.tsv')
        kwargs.setdefault('data_prefix', dict())
        classes = self.task.labels or ('score', )
        kwargs['metainfo'] = dict(dict(task=f'glue-{self.task_name}', classes=classes), **kwargs.get('metainfo', {}))
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    def _columns(self, test: bool) -> Tuple[int, Optional[int], Optional[int]]:
        t = self.task
        return (t.test_a, t.test_b, None) if test else (t.a, t.b, t.label)

    def load_data_list(self) -> List[dict]:
        """Read the rows.

        Returns:
            One dict per example: ``text``, ``text_b`` (pair tasks), ``gt_label`` / ``gt_score``, ``line``, ``guid``.
        """
        path, t = self.ann_file, self.task
        if not osp.isfile(path):
            raise FileNotFoundError(f'GLUEDataset({self.task_name!r}, {self.split!r}): {path} does not exist '
                                    f'(expected the released glue_data/{t.folder}/{self.split}.tsv)')
        test = self.split.startswith('test')
        a, b, label = self._columns(test)
        with open(path, 'rb') as f:
            raw_lines = f.read().split(b'\n')
        if raw_lines and raw_lines[-1] == b'':
            raw_lines.pop()
        width, items = None, []
        has_header = t.header or test
        for lineno, raw in enumerate(raw_lines, 1):
            where = f'GLUEDataset({self.task_name!r}): {path} line {lineno}'
            try:
                row = raw.rstrip(b'\r').decode('utf-8').split('\t')
            except UnicodeDecodeError as e:
                raise ValueError(f'{where}: bytes {raw[e.start:e.end]!r} at byte {e.start} are not UTF-8') from None
            if lineno == 1 and has_header:
                width = len(row)
                continue
            width = width or len(row)
            if len(row) != width:
                raise ValueError(f'{where}: {len(row)} tab-separated columns, expected {width} (as the '
                                 f'{"header" if has_header else "first row"}); {raw[:120]!r}')
            needed = max(c for c in (a, b, label if label is not None and label >= 0 else 0) if c is not None)
            if len(row) <= needed:
                raise ValueError(f'{where}: {len(row)} columns, the {self.task_name} layout reads column {needed}')
            item = dict(text=check_text(row[a], where), line=lineno, guid=f'{self.split}-{lineno}')
            if b is not None:
                item['text_b'] = check_text(row[b], where)
            if label is not None:
                value = row[label].strip()
                if t.labels is None:
                    try:
                        item['gt_score'] = [float(value)]  # a 1-element list: PackInputs' set_gt_score
                    except ValueError:
                        raise ValueError(f'{where}: score {value!r} is not a number') from None
                elif value not in t.labels:
                    raise ValueError(f'{where}: label {value!r} is not one of {t.labels}')
                else:
                    item['gt_label'] = t.labels.index(value)
            items.append(item)
        return items
