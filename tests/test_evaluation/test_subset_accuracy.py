"""SubsetAccuracy ranks only the subset's scores, as unilm's ``--robust_test`` (hand-computed cases)."""
import pytest
import torch

from beitmm.evaluation.metrics import SubsetAccuracy


def _samples(scores, labels):
    return [dict(pred_score=torch.tensor(s, dtype=torch.float), gt_label=torch.tensor([g])) for s, g in
            zip(scores, labels, strict=True)]


def test_explicit_subset_by_hand():
    # 6 classes, subset {1, 3, 5} -> positions 0, 1, 2
    scores = [[9, 1, 0, 2, 0, 3],   # kept (1, 2, 3): top-1 position 2; without the mask class 0 wins
              [0, 5, 9, 4, 0, 1],   # kept (5, 4, 1): top-1 position 0
              [0, 1, 0, 2, 9, 0]]   # kept (1, 2, 0): top-1 position 1
    labels = [2, 1, 1]              # right, wrong (top-2), right
    metric = SubsetAccuracy(subset=[1, 3, 5], topk=(1, 2))
    metric.process(None, _samples(scores, labels))
    out = metric.compute_metrics(metric.results)
    assert out['top1'] == pytest.approx(200 / 3) and out['top2'] == pytest.approx(100.0)


def test_imagenet_a_mask_drops_the_other_800_classes():
    score = torch.zeros(1000)
    score[152] = 5.0  # Pomeranian, not an ImageNet-A class: the unmasked prediction
    score[151] = 3.0  # Chihuahua, ImageNet-A's class at position 37 (Hendrycks' thousand_k_to_200[151] == 37)
    metric = SubsetAccuracy(subset='imagenet-a', topk=(1, ))
    metric.process(None, [dict(pred_score=score, gt_label=torch.tensor([37])),
                          dict(pred_score=score, gt_label=torch.tensor([36]))])
    assert metric.compute_metrics(metric.results)['top1'] == pytest.approx(50.0)
    assert metric.prefix == 'imagenet-a'


def test_scores_of_the_subset_only_pass_through_and_bad_inputs_are_named():
    metric = SubsetAccuracy(subset=[1, 3, 5])
    metric.process(None, _samples([[0.1, 0.7, 0.2]], [1]))  # a head already sliced to the 3 classes
    assert metric.compute_metrics(metric.results)['top1'] == 100.0
    with pytest.raises(ValueError, match='up to 5'):
        metric.process(None, _samples([[0.5, 0.5]], [0]))
    with pytest.raises(ValueError, match='position in the 3-class subset'):
        metric.process(None, _samples([[0] * 6], [4]))
