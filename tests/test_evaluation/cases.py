"""Hand-built cases shared by the tests, and the worker of the two-rank test (imports stay light for spawning)."""
import json
import os.path as osp

import torch
import torch.distributed as dist

# Retrieval: 3 images x 6 texts, image i owns texts 2i and 2i + 1 (ranks worked out in test_retrieval_metric).
SIM = torch.tensor([[0.90, 0.10, 0.80, 0.20, 0.30, 0.40],
                    [0.70, 0.60, 0.50, 0.30, 0.25, 0.35],
                    [0.85, 0.75, 0.65, 0.55, 0.45, 0.38]])  # [3 images, 6 texts]


def vqa_samples() -> list:
    """The 4 questions of ``test_vqa_metric.EXPECTED`` (scores 1.0, 0.6, 0.9, 0.0)."""
    return [
        dict(question_id=1, answer_type='yes/no', pred_answer='yes', gt_answers=['yes'] * 10),
        dict(question_id=2, answer_type='yes/no', pred_answer='no', gt_answers=['no'] * 2 + ['yes'] * 8),
        dict(question_id=3, answer_type='number', pred_answer='two', gt_answers=['2'] * 3 + ['3'] * 7),
        dict(question_id=4, answer_type='other', pred_answer='red', gt_answers=['blue'] * 10),
    ]


def vqa_two_rank_worker(rank: int, work: str) -> None:
    """Each rank processes every other question (as mmengine's sampler splits them); rank 0 writes the file."""
    from mmengine.evaluator import Evaluator

    from beitmm.registry import METRICS
    dist.init_process_group('gloo', init_method=f'file://{osp.join(work, "init")}', rank=rank, world_size=2)
    try:
        metric = METRICS.build(dict(type='beitmm.VQAAccuracy', file_path=osp.join(work, 'res.json'),
                                    expected_num=4))
        evaluator = Evaluator(metric)
        evaluator.process(vqa_samples()[rank::2])
        metrics = evaluator.evaluate(4)
        # retrieval: each rank scores its own images, then its own texts, against everything (as predict_all)
        evaluator = Evaluator(METRICS.build(dict(type='beitmm.RetrievalRecallMean', topk=(1, 2, 5))))
        evaluator.process([dict(pred_score=SIM[i], gt_label=[2 * i, 2 * i + 1]) for i in range(3)][rank::2])
        metrics.update(evaluator.evaluate(3))
        evaluator.process([dict(pred_score=SIM[:, j], gt_label=[j // 2]) for j in range(6)][rank::2])
        metrics.update(evaluator.evaluate(6))
        with open(osp.join(work, f'metrics{rank}.json'), 'w') as f:
            json.dump(metrics, f)
    finally:
        dist.destroy_process_group()
