"""VQAv2 in its released layout, with the ViLT / BEiT-3 answer vocabulary and soft scores."""
import logging
import os
import os.path as osp
import random
from typing import Dict, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from beitmm.registry import DATASETS

from .answers import read_answer_file, soft_targets, vqa_answer_vocabulary, write_answer_file
from .common import ImageChecker, as_splits, check_text, join_root, load_json, require_keys

# split -> (questions data_subtype, annotations data_subtype or None, image folder)
SPLITS = {
    'train': ('train2014', 'train2014', 'train2014'),
    'trainable_val': ('val2014', 'val2014', 'val2014'),
    'rest_val': ('val2014', 'val2014', 'val2014'),
    'val': ('val2014', 'val2014', 'val2014'),
    'test-dev': ('test-dev2015', None, 'test2015'),  # test-dev questions are about test2015 images
    'test': ('test2015', None, 'test2015'),
}
TRAINING_SPLITS = ('train', 'trainable_val')
# answer2label.txt where unilm's make_dataset_index writes it (the data root: beit3/datasets.py:356,558), then where
# beitmm builds it; the first one found is read, so a folder prepared by unilm keeps its label order
ANSWER_FILES = ('answer2label.txt', 'vqa/answer2label.txt')
LAYOUT = ('expected <data_root>/{train2014,val2014,test2015}/COCO_<folder>_<12-digit image id>.jpg and '
          '<data_root>/vqa/v2_OpenEnded_mscoco_{train2014,val2014,test2015,test-dev2015}_questions.json, '
          '<data_root>/vqa/v2_mscoco_{train2014,val2014}_annotations.json.')


def question_file(subtype: str) -> str:
    """Released name of the questions file of ``subtype`` (e.g. 'val2014')."""
    return f'v2_OpenEnded_mscoco_{subtype}_questions.json'


def annotation_file(subtype: str) -> str:
    """Released name of the annotations file of ``subtype`` ('train2014' or 'val2014')."""
    return f'v2_mscoco_{subtype}_annotations.json'


@DATASETS.register_module()
class VQAv2(BaseDataset):
    """VQAv2 read from the official question / annotation files, for answer classification.

    Layout (as unilm BEiT-3's ``get_started_for_vqav2.md``)::

        data_root/train2014/COCO_train2014_000000000009.jpg   val2014/...   test2015/...
        data_root/vqa/v2_OpenEnded_mscoco_{train2014,val2014,test2015,test-dev2015}_questions.json
        data_root/vqa/v2_mscoco_{train2014,val2014}_annotations.json
        data_root/answer2label.txt        (answer vocabulary where unilm writes it; or data_root/vqa/answer2label.txt,
                                           where it is built on first use when neither exists)

    Answer vocabulary (ViLT / BEiT-3 recipe): every ``multiple_choice_answer`` of the train and val
    annotations, normalised as unilm's ``glossary.normalize_word``
    (:func:`beitmm.evaluation.normalize_vocab_answer`), kept when seen at least ``min_answer_count``
    times (3129 answers for the real data), in order of first appearance (train file order, then val),
    exactly as ``VQAv2Dataset.make_dataset_index``. It is read from the first existing file of
    ``ANSWER_FILES`` (unilm's location first; if both exist they must be equal), else built and written
    in BEiT-3's JSON-lines ``{"answer": ..., "label": ...}`` format to ``vqa/answer2label.txt`` (delete
    it to rebuild it with another ``min_answer_count``).

    Splits: ``'train'`` (train2014), ``'val'`` (all of val2014), ``'rest_val'`` (the questions on
    ``rest_val_images`` val images picked by ``random.Random(rest_val_seed)`` shuffling the sorted val
    image ids; all of them, with a warning, if there are fewer), ``'trainable_val'`` (the other val
    images), ``'test-dev'`` and ``'test'`` (test2015 images, no annotations). The BEiT-3 training set
    is ``split=('train', 'trainable_val')``. The official rest_val comes from an unseeded
    ``random.shuffle`` (over the val images that have a labelled question), so it cannot be
    reproduced exactly; this one is reproducible.

    Questions whose annotator answers are all outside the vocabulary are dropped from training
    splits (``'train'``, ``'trainable_val'``) with a warning counting them per split, and kept in
    evaluation splits, where the metric scores them 0 (BEiT-3 drops them from its val as well,
    which over-reports val accuracy). Every image path is checked when the data list is loaded
    (one directory listing per image folder).

    Items: ``img_path``, ``question`` (str), ``question_id`` (int), ``image_id`` (int) and, in
    annotated splits, ``gt_answers`` (the 10 raw annotator answers), ``answer_labels`` (vocabulary
    ids with a non-zero score), ``answer_scores`` (0.3 / 0.6 / 0.9 / 1.0) and ``answer_type``
    ('yes/no', 'number' or 'other', when the annotation has it). ``metainfo['answers']``
    lists the vocabulary (index = label id).

    Args:
        data_root: Dataset root (see the layout above).
        split: One split name or a sequence of them (their questions are concatenated).
            Defaults to 'train'.
        answer_file: Answer vocabulary, relative to ``data_root`` (read, or built there when missing); None
            looks for ``ANSWER_FILES`` as above. Defaults to None.
        min_answer_count: Minimum count of a normalised ``multiple_choice_answer`` to enter a vocabulary
            that is built. Defaults to 9.
        rest_val_images: Number of val images in ``'rest_val'``. Defaults to 1000.
        rest_val_seed: Seed of the rest_val choice. Defaults to 0.
        drop_unanswerable: Drop questions without an in-vocabulary answer; None drops them in the
            training splits only. Defaults to None.
        question_dir: Folder of the question / annotation files, relative to ``data_root``.
            Defaults to 'vqa'.
        check_images: Check that every image file exists. Defaults to True.
        **kwargs: Other arguments of mmengine's ``BaseDataset`` (``pipeline``, ``test_mode``, ...).
    """

    def __init__(self,
                 data_root: str,
                 split: Union[str, Sequence[str]] = 'train',
                 answer_file: Optional[str] = None,
                 min_answer_count: int = 9,
                 rest_val_images: int = 1000,
                 rest_val_seed: int = 0,
                 drop_unanswerable: Optional[bool] = None,
                 question_dir: str = 'vqa',
                 check_images: bool = True,
                 **kwargs) -> None:
        self.splits = as_splits(split, tuple(SPLITS), 'VQAv2')
        if min_answer_count < 1 or rest_val_images < 0:
            raise ValueError(f'VQAv2: need min_answer_count >= 1 and rest_val_images >= 0, got '
                             f'{min_answer_count}, {rest_val_images}')
        self._root = data_root
        self.answer_file = self._answer_file_path(data_root, answer_file)
        self.min_answer_count = min_answer_count
        self.rest_val_images = rest_val_images
        self.rest_val_seed = rest_val_seed
        self.drop_unanswerable = drop_unanswerable
        self.question_dir = join_root(data_root, question_dir)
        self.check_images = check_images
        self.num_dropped: Dict[str, int] = {}
        self._cache: Dict[str, dict] = {}  # parsed JSON files, freed after load_data_list
        self._checked: set = set()  # question files whose fields were checked
        answers = self._load_answers()
        metainfo = {**(kwargs.pop('metainfo', None) or {}), 'answers': answers}
        super().__init__(data_root=data_root, metainfo=metainfo, **kwargs)

    @property
    def answers(self) -> List[str]:
        """The answer vocabulary (index = label id)."""
        return self.metainfo['answers']

    def _json(self, name: str, key: str, subtype: str) -> List[dict]:
        """The ``key`` list of ``question_dir/name``, checked for the expected ``data_subtype``."""
        path = osp.join(self.question_dir, name)
        if path not in self._cache:
            doc = load_json(path, 'VQAv2', LAYOUT)
            if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
                raise ValueError(f"VQAv2 file '{path}' has no '{key}' list; {LAYOUT}")
            found = doc.get('data_subtype', subtype)
            if found != subtype:  # e.g. val annotations copied over the train file name
                raise ValueError(f"VQAv2 file '{path}' has data_subtype '{found}', expected '{subtype}': "
                                 'annotations or questions of the wrong split.')
            self._cache[path] = doc
        return self._cache[path][key]

    @staticmethod
    def _answer_file_path(data_root: str, answer_file: Optional[str]) -> str:
        """``answer_file`` under the root, or the first existing of ``ANSWER_FILES`` (both existing must agree)."""
        if answer_file is not None:
            return join_root(data_root, answer_file)
        paths = [join_root(data_root, name) for name in ANSWER_FILES]
        found = [p for p in paths if osp.isfile(p)]
        if len(found) == 2 and read_answer_file(found[0]) != read_answer_file(found[1]):
            raise ValueError(f"VQAv2: '{found[0]}' (unilm's location) and '{found[1]}' list different answers or "
                             'label orders: delete the one that does not belong to your checkpoint, or pass '
                             'answer_file=')
        return found[0] if found else paths[-1]

    def _load_answers(self) -> List[str]:
        if osp.isfile(self.answer_file):
            answers = read_answer_file(self.answer_file)
            print_log(f"VQAv2: {len(answers)} answers read from '{self.answer_file}'", logger='current')
            return answers
        annotations = [self._json(annotation_file(s), 'annotations', s) for s in ('train2014', 'val2014')]
        answers = vqa_answer_vocabulary(annotations, self.min_answer_count)
        if not answers:
            raise ValueError(f'VQAv2: no multiple_choice_answer occurs {self.min_answer_count} times in the '
                             'train + val annotations; lower min_answer_count.')
        os.makedirs(osp.dirname(self.answer_file) or os.curdir, exist_ok=True)
        write_answer_file(answers, self.answer_file)
        print_log(f'VQAv2: answer vocabulary not found; built {len(answers)} answers (normalised '
                  f'multiple_choice_answer of train + val seen >= {self.min_answer_count} times) and wrote '
                  f"'{self.answer_file}'", logger='current', level=logging.WARNING)
        return answers

    def _rest_val_image_ids(self) -> set:
        ids = sorted({q['image_id'] for q in self._questions('val2014')})
        if self.rest_val_images > len(ids):  # e.g. a shipped config on small (demo) data: keep it usable
            print_log(f'VQAv2: rest_val_images={self.rest_val_images} but val2014 has only {len(ids)} images: '
                      'rest_val is all of them and trainable_val is empty', logger='current', level=logging.WARNING)
        random.Random(self.rest_val_seed).shuffle(ids)
        return set(ids[:self.rest_val_images])

    def _questions(self, subtype: str) -> List[dict]:
        name = question_file(subtype)
        questions = self._json(name, 'questions', subtype)
        if subtype not in self._checked:
            seen = set()
            for i, q in enumerate(questions):
                where = f"'{osp.join(self.question_dir, name)}' questions[{i}]"
                require_keys(q, ('image_id', 'question', 'question_id'), where)
                if q['question_id'] in seen:
                    raise ValueError(f"{where}: question_id {q['question_id']} occurs twice")
                if not str(q['question']).strip():
                    raise ValueError(f"{where}: question_id {q['question_id']} has an empty question")
                check_text(str(q['question']), f"{where}: question_id {q['question_id']}")
                seen.add(q['question_id'])
            self._checked.add(subtype)
        return questions

    def _annotations(self, subtype: str, questions: List[dict]) -> Dict[int, dict]:
        name = annotation_file(subtype)
        path = osp.join(self.question_dir, name)
        by_qid = {}
        image_of = {q['question_id']: q['image_id'] for q in self._questions(subtype)}
        for i, ann in enumerate(self._json(name, 'annotations', subtype)):
            require_keys(ann, ('question_id', 'image_id', 'answers'), f"'{path}' annotations[{i}]")
            qid = ann['question_id']
            if qid not in image_of or image_of[qid] != ann['image_id']:
                raise ValueError(f"'{path}' annotations[{i}] (question_id {qid}, image_id {ann['image_id']}) "
                                 f"does not match '{osp.join(self.question_dir, question_file(subtype))}': "
                                 'annotations for the wrong split?')
            by_qid[qid] = ann
        for q in questions:
            if q['question_id'] not in by_qid:
                raise ValueError(f"question_id {q['question_id']} has no annotation in '{path}': "
                                 'annotations for the wrong split?')
        return by_qid

    def load_data_list(self) -> List[dict]:
        """Read the questions (and annotations) of every requested split.

        Returns:
            list[dict]: One item per question (fields in the class docstring).
        """
        ans2label = {a: i for i, a in enumerate(self.answers)}
        checker = ImageChecker(self.check_images)
        rest_val = (self._rest_val_image_ids()
                    if {'rest_val', 'trainable_val'} & set(self.splits) else set())
        data_list = []
        for split in self.splits:
            q_sub, a_sub, folder = SPLITS[split]
            questions = self._questions(q_sub)
            if split in ('rest_val', 'trainable_val'):
                questions = [q for q in questions if (q['image_id'] in rest_val) == (split == 'rest_val')]
            anns = self._annotations(a_sub, questions) if a_sub else None
            drop = split in TRAINING_SPLITS if self.drop_unanswerable is None else self.drop_unanswerable
            dropped = unanswerable = 0
            for q in questions:
                qid, image_id = int(q['question_id']), int(q['image_id'])
                img_path = osp.join(self._root, folder, f'COCO_{folder}_{image_id:012d}.jpg')
                checker.check(img_path, f"question_id {qid} ('{question_file(q_sub)}')")
                item = dict(img_path=img_path, question=q['question'], question_id=qid, image_id=image_id)
                if anns is not None:
                    # Per-annotator answers are looked up raw (not normalised), as the official
                    # ViLT / BEiT-3 make_dataset_index does.
                    gt_answers = [a['answer'] for a in anns[qid]['answers']]
                    labels, scores = soft_targets(gt_answers, ans2label)
                    if not labels:
                        unanswerable += 1
                        if drop:
                            dropped += 1
                            continue
                    item.update(gt_answers=gt_answers, answer_labels=labels, answer_scores=scores)
                    if 'answer_type' in anns[qid]:  # 'yes/no' / 'number' / 'other': per-type accuracy
                        item['answer_type'] = anns[qid]['answer_type']
                data_list.append(item)
            self.num_dropped[split] = dropped
            if dropped:
                print_log(f"VQAv2 split '{split}': dropped {dropped} of {len(questions)} questions whose answers "
                          f'are all outside the {len(self.answers)}-answer vocabulary', logger='current',
                          level=logging.WARNING)
            elif unanswerable:
                print_log(f"VQAv2 split '{split}': kept {unanswerable} of {len(questions)} questions with no "
                          'answer in the vocabulary (the metric scores them 0)', logger='current')
        self._cache.clear()
        self._checked.clear()
        return data_list
