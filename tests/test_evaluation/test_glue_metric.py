"""GLUEMetric against scipy (Pearson, Spearman, binary MCC as the phi coefficient) and hand-computed tables."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from beitmm.evaluation.metrics import GLUEMetric

stats = pytest.importorskip('scipy.stats')


def _run(task, preds, gts, regression=False):
    metric = GLUEMetric(task)
    samples = []
    for p, g in zip(preds, gts, strict=True):
        if regression:
            samples.append(dict(pred_score=torch.tensor([p]), gt_score=g))
        else:
            samples.append(DataSample().set_pred_label(p).set_gt_label(g))
    metric.process(None, samples)
    return metric.evaluate(len(samples))


def test_stsb_pearson_and_spearman_equal_scipy_with_ties():
    rng = np.random.default_rng(0)
    gt = np.round(rng.uniform(0, 5, 50), 1)  # rounded: ties on both sides
    pred = np.round(gt + rng.normal(0, 1, 50), 0)
    out = _run('stsb', pred.tolist(), gt.tolist(), regression=True)
    assert out['glue-stsb/pearson'] == pytest.approx(100 * stats.pearsonr(pred, gt)[0], abs=1e-9)
    assert out['glue-stsb/spearman'] == pytest.approx(100 * stats.spearmanr(pred, gt)[0], abs=1e-9)


def test_cola_binary_mcc_is_the_phi_coefficient():
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 2, 80)
    pred = np.where(rng.uniform(size=80) < 0.7, gt, 1 - gt)
    out = _run('cola', pred.tolist(), gt.tolist())
    assert out['glue-cola/mcc'] == pytest.approx(100 * stats.pearsonr(pred, gt)[0], abs=1e-9)
    assert _run('cola', [1, 1, 1], [0, 1, 1])['glue-cola/mcc'] == 0.  # a constant prediction: 0, as sklearn


def test_hand_tables_f1_accuracy_and_multiclass_mcc():
    # MRPC: tp 2, fp 1, fn 1, tn 2 -> F1 = 4 / 6, accuracy 4 / 6
    out = _run('mrpc', [1, 1, 1, 0, 0, 0], [1, 1, 0, 1, 0, 0])
    assert out == pytest.approx({'glue-mrpc/f1': 200 / 3, 'glue-mrpc/accuracy': 200 / 3})
    # 3 classes: confusion rows (true) [[1,1,0],[0,2,0],[1,0,1]]: (4*6 - 12) / sqrt((36-14) * (36-12))
    assert GLUEMetric('mnli').compute_metrics(list(zip([0, 1, 1, 1, 2, 0], [0, 0, 1, 1, 2, 2], strict=True))) == {
        'accuracy': pytest.approx(100 * 4 / 6)}
    from beitmm.evaluation.metrics.glue_metric import matthews
    assert matthews(np.array([0, 1, 1, 1, 2, 0]), np.array([0, 0, 1, 1, 2, 2])) == pytest.approx(12 / np.sqrt(528))
    assert _run('sst2', [0, 1, 1], [0, 1, 0]) == {'glue-sst2/accuracy': pytest.approx(200 / 3)}


def test_missing_labels_and_unknown_task_raise():
    with pytest.raises(KeyError, match='unknown task'):
        GLUEMetric('squad')
    with pytest.raises(ValueError, match='test splits have no labels'):
        GLUEMetric('rte').process(None, [DataSample().set_pred_label(1)])
