"""VQAv2 metric: the official accuracy, per answer type, and the EvalAI result file for test-dev / test."""
import json
import logging
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from beitmm.registry import METRICS

from ..vqa import vqa_accuracy

# Some numbers a wrong-split error can point at (official VQAv2 question counts).
SPLIT_SIZES = {'train2014': 443757, 'val2014': 214354, 'test-dev2015': 107394, 'test2015': 447793}


def _sample_get(sample, key: str, default=None):
    """``sample[key]`` for a dict or a ``DataSample``, ``default`` when absent."""
    value = sample.get(key, default)
    return default if value is None else value


def _as_int(value) -> int:
    """An int from an int / 0-d or 1-element tensor / numpy value."""
    return int(value.item()) if hasattr(value, 'item') else int(value)


def load_question_ids(question_file: str) -> List[int]:
    """Question ids of an official VQA question file (``{"questions": [...]}``) or of a list of questions.

    Args:
        question_file: Path to e.g. ``v2_OpenEnded_mscoco_test-dev2015_questions.json``.

    Returns:
        The ``question_id`` of every question, in file order.

    Raises:
        ValueError: If the file has neither layout.
    """
    with open(question_file, encoding='utf-8') as f:
        data = json.load(f)
    questions = data.get('questions') if isinstance(data, dict) else data
    if not isinstance(questions, list) or not all(isinstance(q, dict) and 'question_id' in q for q in questions):
        raise ValueError(f'{question_file}: expected {{"questions": [{{"question_id": ...}}, ...]}} '
                         '(the official VQA question file) or a list of such questions')
    return [int(q['question_id']) for q in questions]


# Replaces mmpretrain's VQAAcc, which over-reports: min(1, c/3) gives 0.33 / 0.67 where the official gives 0.3 / 0.6.
@METRICS.register_module()
class VQAAccuracy(BaseMetric):
    """Official VQA accuracy in percent, overall and per ``answer_type``, and the EvalAI JSON.

    Replaces mmpretrain's ``VQAAcc``, which scores min(1, c/3) = 0.33 / 0.67 instead of the official 0.3 / 0.6.

    Each data sample gives its prediction as ``pred_answer`` (str) or as ``pred_label`` (int), mapped through
    ``dataset_meta['answers']``. Samples with ``gt_answers`` (the raw annotator answers) are scored with
    :func:`beitmm.evaluation.vqa_accuracy`; an optional ``answer_type`` ("yes/no", "number", "other") adds
    ``accuracy_yes_no`` / ``accuracy_number`` / ``accuracy_other``. Samples without ground truth (test-dev, test)
    are only written to ``file_path`` as ``[{"question_id": int, "answer": str}]``, the EvalAI format.

    The prediction set can be checked against its split before anything is written: ``question_file`` (the
    official question json of the split) must list exactly the predicted question ids, and ``expected_num`` is the
    number of questions the split has. A mismatch (a prediction set for another split, a partial run) is an error.
    Only the main process computes and writes (mmengine's ``collect_results`` gathers all ranks first).

    Args:
        file_path: Where to write the EvalAI result JSON (must end with ``.json``); ``None`` writes nothing.
        question_file: Official question json of the evaluated split, e.g.
            ``v2_OpenEnded_mscoco_test-dev2015_questions.json``; ``None`` skips the check.
        expected_num: Number of questions the split must have (107394 for test-dev); ``None`` skips the check.
        collect_device: Device used to gather results across ranks, ``'cpu'`` or ``'gpu'``.
        prefix: Prefix of the metric names; ``'vqa'`` by default (``vqa/accuracy``).
    """
    default_prefix: Optional[str] = 'vqa'

    def __init__(self, file_path: Optional[str] = None, question_file: Optional[str] = None,
                 expected_num: Optional[int] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if file_path is not None and not file_path.endswith('.json'):
            raise ValueError(f'VQAAccuracy: file_path must be a .json file, got {file_path!r}')
        if question_file is not None and not osp.isfile(question_file):
            raise FileNotFoundError(f'VQAAccuracy: question_file {question_file!r} does not exist')
        if expected_num is not None and expected_num <= 0:
            raise ValueError(f'VQAAccuracy: expected_num must be positive, got {expected_num}')
        self.file_path = file_path
        self.question_file = question_file
        self.expected_num = expected_num

    def _answer(self, sample) -> str:
        """The predicted answer string of one data sample."""
        answer = _sample_get(sample, 'pred_answer')
        if answer is not None:
            return str(answer)
        label = _sample_get(sample, 'pred_label')
        if label is None:
            raise KeyError(f'VQAAccuracy: question {_sample_get(sample, "question_id")} has neither pred_answer '
                           'nor pred_label')
        answers = (self.dataset_meta or {}).get('answers')
        if not answers:
            raise KeyError('VQAAccuracy: a pred_label needs dataset_meta["answers"] (the answer vocabulary) to be '
                           f'mapped to an answer; question {_sample_get(sample, "question_id")} has none')
        label = _as_int(label)
        if not 0 <= label < len(answers):
            raise IndexError(f'VQAAccuracy: pred_label {label} of question {_sample_get(sample, "question_id")} '
                             f'is outside the answer vocabulary ({len(answers)} answers)')
        return str(answers[label])

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Score each sample that has ground truth; keep every prediction for the result file.

        Args:
            data_batch: The batch from the dataloader (unused).
            data_samples: Model outputs (dicts or ``DataSample``) with the keys described in the class docstring.
        """
        for sample in data_samples:
            qid = _sample_get(sample, 'question_id')
            answer = self._answer(sample)
            gt_answers = _sample_get(sample, 'gt_answers')
            if isinstance(gt_answers, str):
                gt_answers = [gt_answers]
            score = None
            if gt_answers is not None and len(gt_answers) > 0:
                score = vqa_accuracy(answer, list(gt_answers))
            self.results.append(dict(question_id=None if qid is None else _as_int(qid), answer=answer,
                                     score=score, answer_type=_sample_get(sample, 'answer_type')))

    def _check_split(self, qids: List[int]) -> None:
        """Raise if the predicted question ids do not match ``question_file`` / ``expected_num``."""
        if self.expected_num is not None and len(qids) != self.expected_num:
            raise ValueError(f'VQAAccuracy: {len(qids)} predictions but the split has expected_num='
                             f'{self.expected_num} questions; official sizes: {SPLIT_SIZES}. Is this the wrong '
                             'split or a partial run?')
        if self.question_file is None:
            return
        expected = set(load_question_ids(self.question_file))
        missing, extra = sorted(expected.difference(qids)), sorted(set(qids).difference(expected))
        if missing or extra:
            raise ValueError(
                f'VQAAccuracy: the predictions do not match the questions of {self.question_file} '
                f'({len(expected)} questions): {len(missing)} of its question ids have no prediction (e.g. '
                f'{missing[:5]}) and {len(extra)} predicted ids are not in it (e.g. {extra[:5]}). Is the prediction '
                f'set from another split? Official sizes: {SPLIT_SIZES}.')

    def _write(self, results: List[dict]) -> None:
        """Write the EvalAI JSON, sorted by question id."""
        if any(r['question_id'] is None for r in results):
            raise KeyError('VQAAccuracy: writing the EvalAI file needs question_id in every data sample')
        entries = sorted(({'question_id': r['question_id'], 'answer': r['answer']} for r in results),
                         key=lambda e: e['question_id'])
        os.makedirs(osp.dirname(osp.abspath(self.file_path)), exist_ok=True)
        with open(self.file_path, 'w', encoding='utf-8') as f:
            json.dump(entries, f)
        print_log(f'VQAAccuracy: wrote {len(entries)} answers to {self.file_path} (EvalAI format)', logger='current')

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Check the split, write the result file, and average the scores.

        Args:
            results: The gathered per-question dicts of :meth:`process`.

        Returns:
            ``accuracy`` and ``accuracy_<answer type>`` in percent; empty when no question has ground truth.
        """
        qids = [r['question_id'] for r in results if r['question_id'] is not None]
        seen, dupes = set(), set()
        for q in qids:
            (dupes if q in seen else seen).add(q)
        if dupes:
            raise ValueError(f'VQAAccuracy: {len(dupes)} question ids are predicted more than once, e.g. '
                             f'{sorted(dupes)[:5]}')
        if self.question_file is not None or self.expected_num is not None:
            if len(qids) != len(results):
                raise KeyError('VQAAccuracy: the split check needs question_id in every data sample')
            self._check_split(qids)
        if self.file_path is not None:
            self._write(results)
        scored = [r for r in results if r['score'] is not None]
        if not scored:
            if self.file_path is None:
                raise ValueError(f'VQAAccuracy: none of the {len(results)} questions has gt_answers (a test-dev / '
                                 'test split?) and file_path is not set, so there is nothing to report or write')
            return {}
        if len(scored) < len(results):
            print_log(f'VQAAccuracy: {len(results) - len(scored)} of {len(results)} questions have no gt_answers; '
                      'the accuracy is over the others', logger='current', level=logging.WARNING)
        metrics = {'accuracy': 100.0 * sum(r['score'] for r in scored) / len(scored)}
        by_type = defaultdict(list)
        for r in scored:
            if r['answer_type'] is not None:
                by_type[str(r['answer_type'])].append(r['score'])
        for answer_type, scores in sorted(by_type.items()):
            name = answer_type.replace('/', '_').replace(' ', '_')
            metrics[f'accuracy_{name}'] = 100.0 * sum(scores) / len(scores)
        return metrics
