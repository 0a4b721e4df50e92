"""NLVR2 needs no beitmm metric: mmpretrain's Accuracy works on its pred_label / pred_score / gt_label samples."""
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample

from beitmm.registry import METRICS


def test_mmpretrain_accuracy_on_nlvr2_samples():
    # 5 statements; predictions (argmax of pred_score) 1, 0, 1, 1, 0 vs labels 1, 0, 0, 1, 1 -> 3 / 5 = 60 %
    scores = [[0.2, 0.8], [0.9, 0.1], [0.3, 0.7], [0.4, 0.6], [0.6, 0.4]]
    labels = [1, 0, 0, 1, 1]
    pairs = list(enumerate(zip(scores, labels, strict=True)))
    samples = [DataSample(identifier=f'dev-{i}-0-0', text='s').set_gt_label(y).set_pred_score(torch.tensor(s))
               .set_pred_label(int(torch.tensor(s).argmax())) for i, (s, y) in pairs]
    evaluator = Evaluator(METRICS.build(dict(type='mmpretrain.Accuracy')))
    evaluator.process(samples)
    assert evaluator.evaluate(5) == {'accuracy/top1': pytest.approx(60.0)}
    # labels only (no pred_score): the same number
    evaluator.process([DataSample().set_gt_label(y).set_pred_label(int(torch.tensor(s).argmax()))
                       for s, y in zip(scores, labels, strict=True)])
    assert evaluator.evaluate(5) == {'accuracy/top1': pytest.approx(60.0)}
