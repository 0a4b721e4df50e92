"""beitmm.VQAAccuracy: hand-computed overall / per-type numbers, EvalAI file, split checks, 1 and 2 processes."""
import json

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.evaluation import VQAAcc
from mmpretrain.structures import DataSample

from beitmm.registry import METRICS

from .cases import vqa_samples

# 4 questions; scores by the leave-one-out table (c of 10 answers match):
#   q1 yes/no  'yes'  vs yes x10           c=10 -> 1.0
#   q2 yes/no  'no'   vs no x2, yes x8     c=2  -> 0.6
#   q3 number  'two'  vs 2 x3, 3 x7        c=3  -> 0.9  ('two' -> '2')
#   q4 other   'red'  vs blue x10          c=0  -> 0.0
# overall (1 + .6 + .9 + 0) / 4 = 62.5 %; yes/no (1 + .6) / 2 = 80 %; number 90 %; other 0 %.
EXPECTED = {'vqa/accuracy': 62.5, 'vqa/accuracy_yes_no': 80.0, 'vqa/accuracy_number': 90.0,
            'vqa/accuracy_other': 0.0}


def _run(metric_cfg: dict, samples: list, meta: dict = None) -> dict:
    evaluator = Evaluator(METRICS.build(metric_cfg))
    if meta is not None:
        evaluator.dataset_meta = meta
    evaluator.process([DataSample(**s) for s in samples])
    return evaluator.evaluate(len(samples))


def test_overall_and_per_answer_type_accuracy():
    metrics = _run(dict(type='beitmm.VQAAccuracy'), vqa_samples())
    assert metrics.keys() == EXPECTED.keys()
    for k, v in EXPECTED.items():
        assert metrics[k] == pytest.approx(v, abs=1e-9), k


def test_pred_label_is_mapped_through_the_answer_vocabulary():
    vocab = ['no', 'yes', '2', 'red']
    samples = []
    for s in vqa_samples():
        s = dict(s)
        s['pred_label'] = torch.tensor([vocab.index(s.pop('pred_answer').replace('two', '2'))])
        samples.append(s)
    metrics = _run(dict(type='beitmm.VQAAccuracy'), samples, meta=dict(answers=vocab))
    assert metrics['vqa/accuracy'] == pytest.approx(62.5)
    with pytest.raises(KeyError, match='dataset_meta'):
        _run(dict(type='beitmm.VQAAccuracy'), samples)


def test_mmpretrain_vqaacc_over_reports_the_same_set():
    samples = []
    for s in vqa_samples():  # VQAAcc wants unique answers with count / 10 weights
        uniq = sorted(set(s['gt_answers']))
        samples.append(dict(pred_answer=s['pred_answer'], gt_answer=uniq,
                            gt_answer_weight=[s['gt_answers'].count(a) / 10 for a in uniq]))
    evaluator = Evaluator(VQAAcc())
    evaluator.process(samples)
    # q2 scores min(1, .2/.3) = 2/3 instead of 0.6 and q3 1.0 instead of 0.9: (1 + 2/3 + 1 + 0) / 4
    assert evaluator.evaluate(4)['VQA/acc'] == pytest.approx(100 * (8 / 3) / 4)


def test_evalai_file_for_a_split_without_ground_truth(tmp_path):
    out = tmp_path / 'sub' / 'vqa_test-dev.json'
    samples = [dict(question_id=qid, pred_answer=a) for qid, a in [(30, 'yes'), (10, '2'), (20, 'red')]]
    assert _run(dict(type='beitmm.VQAAccuracy', file_path=str(out)), samples) == {}
    assert json.loads(out.read_text()) == [{'question_id': 10, 'answer': '2'}, {'question_id': 20, 'answer': 'red'},
                                          {'question_id': 30, 'answer': 'yes'}]
    with pytest.raises(ValueError, match='has gt_answers .*file_path is not set'):
        _run(dict(type='beitmm.VQAAccuracy'), samples)


def _question_file(path, qids) -> str:
    path.write_text(json.dumps({'questions': [dict(question_id=q, image_id=1, question='?') for q in qids]}))
    return str(path)


def test_predictions_of_the_wrong_split_are_refused(tmp_path):
    out = tmp_path / 'res.json'
    qfile = _question_file(tmp_path / 'v2_OpenEnded_mscoco_test-dev2015_questions.json', [10, 20, 30])
    good = [dict(question_id=q, pred_answer='yes') for q in (30, 20, 10)]
    _run(dict(type='beitmm.VQAAccuracy', file_path=str(out), question_file=qfile, expected_num=3), good)
    assert len(json.loads(out.read_text())) == 3
    out.unlink()
    wrong = [dict(question_id=q, pred_answer='yes') for q in (10, 20, 40)]
    with pytest.raises(ValueError, match=r'do not match the questions of .*test-dev2015.*1 of its question ids '
                                         r'have no prediction \(e.g. \[30\]\) and 1 predicted ids .*\[40\]'):
        _run(dict(type='beitmm.VQAAccuracy', file_path=str(out), question_file=qfile), wrong)
    assert not out.exists()  # nothing written for a wrong split
    with pytest.raises(ValueError, match='expected_num=107394'):
        _run(dict(type='beitmm.VQAAccuracy', expected_num=107394, file_path=str(out)), good)
    with pytest.raises(ValueError, match='more than once'):
        _run(dict(type='beitmm.VQAAccuracy', file_path=str(out)), good + good[:1])


def test_bad_configuration_and_samples():
    with pytest.raises(FileNotFoundError, match='question_file'):
        METRICS.build(dict(type='beitmm.VQAAccuracy', question_file='/nonexistent/questions.json'))
    with pytest.raises(ValueError, match='.json'):
        METRICS.build(dict(type='beitmm.VQAAccuracy', file_path='out.txt'))
    with pytest.raises(KeyError, match='neither pred_answer nor pred_label'):
        _run(dict(type='beitmm.VQAAccuracy'), [dict(question_id=1, gt_answers=['yes'] * 10)])
    with pytest.raises(IndexError, match='outside the answer vocabulary'):
        _run(dict(type='beitmm.VQAAccuracy'), [dict(question_id=1, pred_label=7, gt_answers=['a'])],
             meta=dict(answers=['a', 'b']))


def test_two_processes_gather_score_and_write_once(tmp_path):
    """VQAAccuracy and RetrievalRecallMean under a 2-rank gloo group."""
    import torch.multiprocessing as mp

    from .cases import vqa_two_rank_worker
    mp.spawn(vqa_two_rank_worker, args=(str(tmp_path),), nprocs=2, join=True)
    per_rank = [json.loads((tmp_path / f'metrics{r}.json').read_text()) for r in (0, 1)]
    assert per_rank[0] == per_rank[1]  # broadcast to every rank
    for k, v in EXPECTED.items():
        assert per_rank[0][k] == pytest.approx(v, abs=1e-9), k
    # retrieval on the 3 x 6 example of test_retrieval_metric (the mean lives on rank 0 between the two calls)
    assert per_rank[0]['tr_r1'] == pytest.approx(100 / 3) and per_rank[0]['ir_r2'] == pytest.approx(400 / 6)
    assert per_rank[0]['r_mean'] == pytest.approx((2 * 100 / 3 + 100 + 200 / 6 + 400 / 6 + 100) / 6)
    written = json.loads((tmp_path / 'res.json').read_text())
    assert [e['question_id'] for e in written] == [1, 2, 3, 4]
    # one result file, written by rank 0 ('init' is the rendezvous file, which gloo may already have removed)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != 'init') == ['metrics0.json', 'metrics1.json',
                                                                              'res.json']
