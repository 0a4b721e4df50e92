"""Image-text retrieval recall: TR@1/5/10, IR@1/5/10 and their mean, inside mmpretrain's retrieval loops."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.evaluator import BaseMetric

from beitmm.registry import METRICS


@METRICS.register_module()
class RetrievalRecallMean(BaseMetric):
    """Text retrieval (image -> text) and image retrieval (text -> image) recall@k and the mean of all of them.

    mmpretrain's ``RetrievalRecall`` reports the two directions separately; BEiT-3 / VLMo select models on the mean
    of the six recalls (``average_score`` / ``r_mean``), so this metric keeps the image -> text numbers of the
    first call and adds the mean to the second.

    mmpretrain's ``RetrievalValLoop`` / ``RetrievalTestLoop`` call the evaluator twice per run: first with one
    sample per image (``pred_score`` over all texts, ``gt_label`` = the image's text ids) as ``evaluate(num
    images)``, then with one sample per text (scores over all images, ``gt_label`` = its image id) as
    ``evaluate(num texts)``, and prefix the results with ``i2t/`` and ``t2i/``. So the calls alternate: odd calls
    are image -> text (``tr_r1`` ...), even calls text -> image (``ir_r1`` ..., ``r_mean``); the final keys are
    ``i2t/tr_r1``, ``i2t/tr_r5``, ``i2t/tr_r10``, ``t2i/ir_r1``, ``t2i/ir_r5``, ``t2i/ir_r10`` and ``t2i/r_mean``
    (with ``prefix='x'``: ``i2t/x/tr_r1``, ...). The second call must be the transpose of the first (as many
    queries as the first had candidates, and back), otherwise it is an error.

    Per query the hit at each k is "a ground-truth candidate is among the ``torch.topk`` indices", as in
    mmpretrain's ``RetrievalRecall.calculate``, computed in ``process`` so that score vectors are not kept. That
    function itself is not called: it uses ``np.in1d``, which NumPy 2.4 (installed here) removed.

    Args:
        topk: The k of recall@k; the mean is over all 2 x len(topk) recalls.
        collect_device: Device used to gather results across ranks, ``'cpu'`` or ``'gpu'``.
        prefix: Optional prefix of the metric names (none by default).
    """
    default_prefix: Optional[str] = ''  # no prefix (and no mmengine warning about a missing one)

    def __init__(self, topk: Union[int, Sequence[int]] = (1, 5, 10), collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not topk or any(int(k) <= 0 for k in topk):
            raise ValueError(f'RetrievalRecallMean: topk must be positive integers, got {topk}')
        self.topk = tuple(int(k) for k in topk)
        # ((num queries, num candidates), recalls) of the image -> text call until its text -> image partner comes
        self._i2t: Optional[tuple] = None

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Record, per query, whether a ground-truth item is in its top k, for each k.

        Args:
            data_batch: The batch from the dataloader (unused).
            data_samples: Samples with ``pred_score`` (tensor [num candidates]) and ``gt_label`` (ids of the
                matching candidates) or ``gt_score`` (one-hot / multi-hot [num candidates]).
        """
        for sample in data_samples:
            pred_score = torch.as_tensor(sample.get('pred_score')).detach().float().flatten()  # [M]
            if sample.get('gt_score') is not None:
                target = torch.as_tensor(sample.get('gt_score')).flatten()  # [M]
            else:
                labels = torch.as_tensor(sample.get('gt_label'), dtype=torch.long).flatten()
                target = torch.zeros(pred_score.numel(), dtype=torch.bool)  # [M]
                if labels.numel() and not 0 <= int(labels.min()) <= int(labels.max()) < pred_score.numel():
                    raise ValueError(f'RetrievalRecallMean: gt_label {labels.tolist()} is outside the '
                                     f'{pred_score.numel()} candidates')
                target[labels] = True
            if not target.any():
                raise ValueError('RetrievalRecallMean: a query has no ground-truth candidate (empty gt_label)')
            k_max = min(max(self.topk), pred_score.numel())
            ranked_hits = target[pred_score.topk(k_max).indices] > 0  # [k_max], best candidate first
            self.results.append((pred_score.numel(), [bool(ranked_hits[:k].any()) for k in self.topk]))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Recall@k in percent for this direction; the mean of both directions on the text -> image call.

        Args:
            results: ``(num candidates, [hit at each k])`` per query, gathered from all ranks.

        Returns:
            ``tr_r{k}`` on the image -> text call; ``ir_r{k}`` and ``r_mean`` on the text -> image call.
        """
        num_candidates = {n for n, _ in results}
        if len(num_candidates) != 1:
            raise ValueError(f'RetrievalRecallMean: queries scored against different numbers of candidates '
                             f'{sorted(num_candidates)}')
        shape = (len(results), num_candidates.pop())
        recalls = [100.0 * sum(h[i] for _, h in results) / len(results) for i in range(len(self.topk))]
        if self._i2t is None:
            self._i2t = (shape, recalls)
            return {f'tr_r{k}': r for k, r in zip(self.topk, recalls, strict=True)}
        (i2t_shape, i2t_recalls), self._i2t = self._i2t, None
        if shape != i2t_shape[::-1]:
            raise ValueError(f'RetrievalRecallMean: the text -> image call scores {shape[0]} queries against '
                             f'{shape[1]} candidates, which is not the transpose of the image -> text call '
                             f'({i2t_shape[0]} x {i2t_shape[1]}); the metric expects mmpretrain\'s retrieval loops '
                             '(image -> text first, then text -> image)')
        metrics = {f'ir_r{k}': r for k, r in zip(self.topk, recalls, strict=True)}
        metrics['r_mean'] = (sum(i2t_recalls) + sum(recalls)) / (2 * len(self.topk))
        return metrics
