"""VQA answer vocabulary (BEiT-3's ``answer2label.txt``) and ViLT soft scores."""
import json
import os
import os.path as osp
import tempfile
from collections import Counter
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from .common import iter_text_lines


def soft_score(count: int) -> float:
    """ViLT / BEiT-3 soft score of an answer given by ``count`` of the (10) annotators.

    Equals the official leave-one-annotator-out VQA accuracy of that answer.

    Args:
        count: Number of annotators who gave the answer.

    Returns:
        float: 0, 0.3, 0.6, 0.9 or 1.0 for count 0, 1, 2, 3, >= 4.
    """
    return (0.0, 0.3, 0.6, 0.9, 1.0)[min(max(count, 0), 4)]


def soft_targets(gt_answers: Sequence[str], ans2label: Dict[str, int]) -> Tuple[List[int], List[float]]:
    """Vocabulary labels and soft scores of one question.

    Answers are counted as given (raw strings): the official ``make_dataset_index`` does not
    normalise per-annotator answers before the vocabulary lookup.

    Args:
        gt_answers: The annotators' answers.
        ans2label: Answer -> label id.

    Returns:
        tuple[list[int], list[float]]: Labels with a non-zero score, in order of first appearance
        among ``gt_answers``, and their scores.
    """
    counts = Counter(gt_answers)  # insertion order = first appearance
    labels = [ans2label[a] for a in counts if a in ans2label]
    scores = [soft_score(counts[a]) for a in counts if a in ans2label]
    return labels, scores


def vqa_answer_vocabulary(annotation_lists: Iterable[Sequence[dict]], min_count: int = 9,
                          normalize: Optional[Callable[[str], str]] = None) -> List[str]:
    """Answer vocabulary of the ViLT / BEiT-3 recipe.

    Args:
        annotation_lists: The ``annotations`` lists of the VQAv2 annotation files, in order (train, then val).
        min_count: Keep a normalised ``multiple_choice_answer`` seen at least this many times. Defaults to 9.
        normalize: Answer normalisation; None uses unilm's ``glossary.normalize_word``
            (:func:`beitmm.evaluation.vqa.normalize_vocab_answer`).

    Returns:
        list[str]: The answers in order of first appearance (index = label id), as ``Counter.items()``
        orders them in BEiT-3's ``make_dataset_index`` (not most frequent first).
    """
    if normalize is None:
        from beitmm.evaluation.vqa import normalize_vocab_answer as normalize  # unilm's normalize_word
    counts = Counter(normalize(ann['multiple_choice_answer']) for anns in annotation_lists for ann in anns)
    return [answer for answer, count in counts.items() if count >= min_count]


def write_answer_file(answers: Sequence[str], path: str) -> None:
    """Write ``answers`` as BEiT-3's JSON lines ``{"answer": ..., "label": ...}``, atomically.

    The file is written under a temporary name and renamed, so concurrent builders (one per
    rank) never leave or read a half-written file.

    Args:
        answers: The vocabulary (index = label id).
        path: Output file.
    """
    fd, tmp = tempfile.mkstemp(prefix=osp.basename(path) + '.', suffix='.tmp', dir=osp.dirname(path) or None)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            for label, answer in enumerate(answers):
                f.write(json.dumps({'answer': answer, 'label': label}) + '\n')
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def read_answer_file(path: str) -> List[str]:
    """Read an ``answer2label.txt`` (JSON lines ``{"answer", "label"}``, label = line index).

    Args:
        path: The file.

    Returns:
        list[str]: The answers (index = label id).
    """
    answers, seen = [], set()
    for lineno, line in iter_text_lines(path, 'Answer'):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            answer, label = entry['answer'], int(entry['label'])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise ValueError(f"Answer file '{path}' line {lineno}: expected "
                             f'{{"answer": ..., "label": ...}}, got {line.strip()[:80]!r}') from e
        if label != len(answers):
            raise ValueError(f"Answer file '{path}' line {lineno}: label {label}, expected {len(answers)} "
                             '(labels must count up from 0 in file order)')
        if answer in seen:
            raise ValueError(f"Answer file '{path}' line {lineno}: answer {answer!r} occurs twice")
        seen.add(answer)
        answers.append(answer)
    if not answers:
        raise ValueError(f"Answer file '{path}' is empty; delete it to rebuild the vocabulary.")
    return answers
