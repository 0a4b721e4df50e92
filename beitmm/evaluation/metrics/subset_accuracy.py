"""Top-k accuracy over a subset of a classifier's classes (ImageNet-A / -R: 200 of the 1000 ImageNet-1k classes)."""
from typing import Optional, Sequence, Union

import torch
from mmpretrain.evaluation import Accuracy

from beitmm.registry import METRICS


@METRICS.register_module()
class SubsetAccuracy(Accuracy):
    """mmpretrain ``Accuracy`` on the scores of a subset of the classes, as unilm's ``--robust_test``.

    A 1000-way ImageNet classifier is scored on ImageNet-A / -R by keeping only the 200 classes of the test set:
    unilm's ``beit2/run_class_finetuning.py`` slices the head's rows with the official mask, Hendrycks et al. take
    ``logits[:, indices_in_1k]``; both then rank the 200 kept scores. Here the model's ``pred_score`` (a softmax, so
    the ranking of the logits) is sliced the same way and ``gt_label`` must be the position in the subset (0..199),
    as :class:`beitmm.datasets.robustness.ImageNetVariant` labels. A model whose score already has one entry per
    subset class (a head sliced beforehand) is scored as it is.

    Args:
        subset: A variant name (``'imagenet-a'``, ``'imagenet-r'``; see
            :func:`beitmm.datasets.robustness.subset_indices`) or the class indices to keep, in label order.
        topk: The k of top-k accuracy.
        prefix: Metric name prefix; defaults to the variant name (``imagenet-a/top1``), else ``accuracy``.
        **kwargs: Other arguments of mmpretrain's ``Accuracy`` (``thrs``, ``collect_device``).
    """

    def __init__(self, subset: Union[str, Sequence[int]], topk: Union[int, Sequence[int]] = (1, ),
                 prefix: Optional[str] = None, **kwargs) -> None:
        if isinstance(subset, str):
            from beitmm.datasets.robustness import subset_indices
            indices, default_prefix = subset_indices(subset), subset
        else:
            indices, default_prefix = list(subset), 'accuracy'
        self.indices = torch.as_tensor(indices, dtype=torch.long)  # [K]
        super().__init__(topk=topk, prefix=prefix or default_prefix, **kwargs)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each sample's scores of the subset's classes and its label.

        Args:
            data_batch: The batch (unused).
            data_samples: Model outputs with ``pred_score`` ([num_classes]) and ``gt_label``.
        """
        for sample in data_samples:
            if 'pred_score' not in sample:
                raise ValueError('SubsetAccuracy ranks scores: the model output has no pred_score')
            score = sample['pred_score'].cpu()  # [num_classes]
            if score.numel() != len(self.indices):
                if score.numel() <= int(self.indices.max()):
                    raise ValueError(f'SubsetAccuracy keeps class indices up to {int(self.indices.max())} but the '
                                     f'model scores {score.numel()} classes')
                score = score[self.indices]  # [K]
            label = sample['gt_label'].cpu()
            if int(label.max()) >= len(self.indices):
                raise ValueError(f'gt_label {int(label.max())} is not a position in the {len(self.indices)}-class '
                                 'subset: label the data by subset position (beitmm.ImageNetVariant does)')
            self.results.append(dict(pred_score=score, gt_label=label))
