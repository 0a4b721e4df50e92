"""beitmm.RetrievalRecallMean inside mmpretrain's RetrievalValLoop / RetrievalTestLoop on a hand-built 3 x 6 example.

Image i owns texts 2i and 2i + 1. Similarities (rows images, columns texts), all distinct:

            t0    t1    t2    t3    t4    t5
    img0  0.90  0.10  0.80  0.20  0.30  0.40
    img1  0.70  0.60  0.50  0.30  0.25  0.35
    img2  0.85  0.75  0.65  0.55  0.45  0.38

Text retrieval (rank of the best own text in the row): img0 t0 first -> 1; img1 t2 after t0, t1 -> 3;
img2 t4 after t0..t3 -> 5. Image retrieval (rank of the own image in the column): t0 1, t1 3 (0.10 < 0.60, 0.75),
t2 3, t3 2 (0.30 > 0.20, < 0.55), t4 1, t5 2 (0.38 < 0.40).
topk (1, 2, 5): TR 1/3, 1/3, 3/3; IR 2/6, 4/6, 6/6; mean (33.33 + 33.33 + 100 + 33.33 + 66.67 + 100) / 6 = 61.11.
"""
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from torch.utils.data import DataLoader, Dataset

from beitmm.registry import METRICS

from .cases import SIM

THIRD = 100 / 3


class _Images(Dataset):
    """Test-mode retrieval items: one per image with its text ids (mmpretrain's Flickr30kRetrieval layout)."""
    img_size, text_size = 3, 6

    def __len__(self):
        return 3

    def __getitem__(self, i):
        return dict(inputs=torch.tensor([float(i)]),
                    data_samples=DataSample(gt_text_id=[2 * i, 2 * i + 1], gt_image_id=[i, i], text=['a', 'b']))


class _DualEncoder(BaseModel):
    """Features = image indices; ``predict_all`` scores with SIM as a dual encoder's would."""

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return dict(index=torch.stack(inputs).flatten().long())

    def predict_all(self, feats, data_samples, num_images, num_texts):
        i2t = [DataSample(pred_score=SIM[i], gt_label=list(s.gt_text_id))
               for i, s in zip(feats['index'].tolist(), data_samples, strict=True)]
        t2i = [DataSample(pred_score=SIM[:, j], gt_label=j // 2) for j in range(num_texts)]
        return i2t, t2i


def _run_loop(tmp_path, loop: str, metric: dict) -> dict:
    loader = DataLoader(_Images(), batch_size=2, collate_fn=lambda b: dict(
        inputs=[x['inputs'] for x in b], data_samples=[x['data_samples'] for x in b]))
    kind = 'val' if loop == 'RetrievalValLoop' else 'test'
    runner = Runner(model=_DualEncoder(), work_dir=str(tmp_path), default_scope='mmpretrain', experiment_name=loop,
                    **{f'{kind}_dataloader': loader, f'{kind}_cfg': dict(type=f'mmpretrain.{loop}'),
                       f'{kind}_evaluator': metric})
    return runner.val() if kind == 'val' else runner.test()


@pytest.mark.parametrize('loop', ['RetrievalValLoop', 'RetrievalTestLoop'])
def test_recalls_and_mean_through_mmpretrain_retrieval_loops(tmp_path, loop):
    metrics = _run_loop(tmp_path, loop, dict(type='beitmm.RetrievalRecallMean', topk=(1, 2, 5)))
    expected = {'i2t/tr_r1': THIRD, 'i2t/tr_r2': THIRD, 'i2t/tr_r5': 100.0,
                't2i/ir_r1': 2 * 100 / 6, 't2i/ir_r2': 4 * 100 / 6, 't2i/ir_r5': 100.0,
                't2i/r_mean': (THIRD + THIRD + 100 + 2 * 100 / 6 + 4 * 100 / 6 + 100) / 6}
    assert metrics.keys() == expected.keys()
    for k, v in expected.items():
        assert metrics[k] == pytest.approx(v, abs=1e-4), k
    assert metrics['t2i/r_mean'] == pytest.approx(61.111, abs=1e-3)


def test_default_topk_larger_than_the_candidates_and_a_second_run(tmp_path):
    metric = METRICS.build(dict(type='beitmm.RetrievalRecallMean'))  # topk 1, 5, 10: k capped at 6 texts / 3 images
    for _ in range(2):  # the state resets after each text -> image call
        metric.process(None, [dict(pred_score=SIM[i], gt_label=[2 * i, 2 * i + 1]) for i in range(3)])
        assert metric.evaluate(3) == pytest.approx({'tr_r1': THIRD, 'tr_r5': 100.0, 'tr_r10': 100.0})
        metric.process(None, [dict(pred_score=SIM[:, j], gt_label=torch.tensor([j // 2])) for j in range(6)])
        out = metric.evaluate(6)
        assert out == pytest.approx({'ir_r1': THIRD, 'ir_r5': 100.0, 'ir_r10': 100.0,
                                     'r_mean': (2 * THIRD + 4 * 100) / 6})


def test_a_second_call_that_is_not_the_transpose_is_an_error():
    metric = METRICS.build(dict(type='beitmm.RetrievalRecallMean'))
    metric.process(None, [dict(pred_score=SIM[i], gt_label=[2 * i]) for i in range(3)])
    metric.evaluate(3)
    metric.process(None, [dict(pred_score=SIM[i], gt_label=[2 * i]) for i in range(3)])  # i2t again
    with pytest.raises(ValueError, match='not the transpose'):
        metric.evaluate(3)
    with pytest.raises(ValueError, match='positive'):
        METRICS.build(dict(type='beitmm.RetrievalRecallMean', topk=(0, 5)))
    with pytest.raises(ValueError, match='no ground-truth'):
        metric.process(None, [dict(pred_score=SIM[0], gt_score=torch.zeros(6))])
    with pytest.raises(ValueError, match=r'gt_label \[6\] is outside the 6 candidates'):
        metric.process(None, [dict(pred_score=SIM[0], gt_label=[6])])
