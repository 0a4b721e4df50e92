"""GLUE's official metric per task, as the GLUE paper and ``transformers``' ``glue_compute_metrics`` define it.

CoLA: Matthews correlation; MRPC / QQP: F1 and accuracy; STS-B: Pearson and Spearman; the others: accuracy.

Values are percentages (x 100), as GLUE's leaderboard prints them. Predictions come from
``beitmm.TextClassifier``: ``pred_label`` (classification) or ``pred_score`` (a 1-element regression output for
STS-B), with ``gt_label`` / ``gt_score`` from ``beitmm.GLUEDataset``.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from beitmm.registry import METRICS

TASK_METRICS = {'cola': ('mcc', ), 'mrpc': ('f1', 'accuracy'), 'qqp': ('f1', 'accuracy'),
                'stsb': ('pearson', 'spearman'), 'sst2': ('accuracy', ), 'mnli': ('accuracy', ),
                'mnli-mm': ('accuracy', ), 'qnli': ('accuracy', ), 'rte': ('accuracy', ), 'wnli': ('accuracy', ),
                'polarity': ('accuracy', )}


def accuracy(pred: np.ndarray, gt: np.ndarray) -> float:
    """Share of equal labels."""
    return float((pred == gt).mean())


def f1_binary(pred: np.ndarray, gt: np.ndarray) -> float:
    """F1 of the positive class 1 (0 when there is no true positive)."""
    tp = float(((pred == 1) & (gt == 1)).sum())
    fp, fn = float(((pred == 1) & (gt != 1)).sum()), float(((pred != 1) & (gt == 1)).sum())
    return 0. if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def matthews(pred: np.ndarray, gt: np.ndarray) -> float:
    """Matthews correlation of two label vectors (multi-class form; 0 when a marginal is constant)."""
    classes = np.union1d(pred, gt)
    conf = np.array([[((gt == a) & (pred == b)).sum() for b in classes] for a in classes], dtype=np.float64)
    t, p = conf.sum(1), conf.sum(0)  # true / predicted counts per class
    n, c = conf.sum(), np.trace(conf)
    den = np.sqrt((n * n - (p * p).sum()) * (n * n - (t * t).sum()))
    return 0. if den == 0 else float((c * n - (t * p).sum()) / den)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation (NaN when either side is constant)."""
    x, y = x - x.mean(), y - y.mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    return float('nan') if den == 0 else float((x * y).sum() / den)


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their mean rank."""
    order = np.argsort(x, kind='mergesort')
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.arange(1, len(x) + 1)
    for value in np.unique(x):
        tied = x == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman correlation: Pearson of the average ranks."""
    return pearson(average_ranks(x), average_ranks(y))


FUNCTIONS = dict(accuracy=accuracy, f1=f1_binary, mcc=matthews, pearson=pearson, spearman=spearman)


@METRICS.register_module()
class GLUEMetric(BaseMetric):
    """The official metric(s) of one GLUE task.

    Args:
        task: ``cola``, ``sst2``, ``mrpc``, ``qqp``, ``stsb``, ``mnli``, ``mnli-mm``, ``qnli``, ``rte``, ``wnli``
            (or ``polarity``: accuracy).
        collect_device: mmengine's ``collect_device``.
        prefix: Key prefix; None: ``glue-{task}``.
    """

    default_prefix = 'glue'

    def __init__(self, task: str, collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        key = task.lower().replace('sts-b', 'stsb').replace('sst-2', 'sst2')
        if key not in TASK_METRICS:
            raise KeyError(f'GLUEMetric: unknown task {task!r}; one of {sorted(TASK_METRICS)}')
        super().__init__(collect_device=collect_device, prefix=prefix or f'glue-{key}')
        self.task, self.regression = key, key == 'stsb'

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Keep (prediction, ground truth) of each sample."""
        for s in data_samples:
            get = s.get if isinstance(s, dict) else (lambda k, s=s: getattr(s, k, None))
            if self.regression:
                pred, gt = get('pred_score'), get('gt_score')
            else:
                pred, gt = get('pred_label'), get('gt_label')
            if pred is None or gt is None:
                raise ValueError(f'GLUEMetric({self.task!r}): a sample lacks its prediction or ground truth (line '
                                 f'{get("line")}); test splits have no labels: score them on the GLUE server')
            self.results.append((float(np.asarray(pred.cpu() if hasattr(pred, 'cpu') else pred).reshape(-1)[0]),
                                 float(np.asarray(gt.cpu() if hasattr(gt, 'cpu') else gt).reshape(-1)[0])))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        """The task's metrics, in percent."""
        pred, gt = (np.array(v) for v in zip(*results, strict=True)) if results else (np.zeros(0), np.zeros(0))
        if not self.regression:
            pred, gt = pred.astype(np.int64), gt.astype(np.int64)
        return {name: 100. * FUNCTIONS[name](pred, gt) for name in TASK_METRICS[self.task]}
