"""beitmm.VQAv2 on hand-written files in the released layout, against hand-built tables."""
import json
import os
import os.path as osp
import shutil
from unittest import mock

import pytest
from mmengine.registry import DefaultScope
from PIL import Image

from beitmm.datasets.vl import VQAv2, read_answer_file, soft_score, vqa_answer_vocabulary

TRAIN_Q = [(1000, 1, 'What color is the ball?'), (1001, 1, 'How many dogs?'), (2000, 2, 'What color is the sky?')]
VAL_Q = [(3000, 3, 'Is it sunny?'), (3001, 3, 'What color is the car?'), (4000, 4, 'How many cats?'),
         (5000, 5, 'Is it raining?'), (5001, 5, 'Is it cold?'), (6000, 6, 'What color is the door?'),
         (7000, 7, 'What is it?')]
# question_id -> (multiple_choice_answer, the 10 annotator answers)
ANSWERS = {
    1000: ('Red', ['red'] * 4 + ['blue'] * 2 + ['green', 'Red'] + ['dark red'] * 2),
    1001: ('two', ['2'] * 3 + ['two'] * 3 + ['3'] * 3 + ['red']),
    2000: ('purple', ['purple'] * 6 + ['violet'] * 4),
    3000: ('yes', ['yes'] * 10),
    3001: ('blue', ['blue'] * 5 + ['red'] * 5),
    4000: ('2', ['2'] * 9 + ['3']),
    5000: ('yes', ['yes'] * 7 + ['no'] * 3),
    5001: ('Yes.', ['yes'] * 10),
    6000: ('red', ['red'] * 8 + ['blue'] * 2),
    7000: ('violet', ['violet'] * 10),
}
# Normalised multiple_choice_answer in file order: red 2 purple yes blue 2 yes yes red violet.
VOCAB = {1: ['red', '2', 'purple', 'yes', 'blue', 'violet'], 2: ['red', '2', 'yes'], 3: ['yes']}
# Hand-built soft targets with the min_answer_count=1 vocabulary (raw annotator answers: 'Red', 'two' do not count).
LABELS_MIN1 = {1000: ([0, 4], [1.0, 0.6]), 1001: ([1, 0], [0.9, 0.3]), 2000: ([2, 5], [1.0, 1.0]),
               3000: ([3], [1.0]), 3001: ([4, 0], [1.0, 1.0]), 4000: ([1], [1.0]), 5000: ([3], [1.0]),
               5001: ([3], [1.0]), 6000: ([0, 4], [1.0, 0.6]), 7000: ([5], [1.0])}
LABELS_MIN2 = {1000: ([0], [1.0]), 1001: ([1, 0], [0.9, 0.3]), 2000: ([], []), 3000: ([2], [1.0]),
               3001: ([0], [1.0]), 4000: ([1], [1.0]), 5000: ([2], [1.0]), 5001: ([2], [1.0]),
               6000: ([0], [1.0]), 7000: ([], [])}


def _dump(obj, path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f)


def make_vqa(root, with_subtype=True):
    """Write the tiny dataset; returns the root (str)."""
    root = str(root)
    for sub, qs in (('train2014', TRAIN_Q), ('val2014', VAL_Q), ('test2015', [(8000, 8, 'Why?')]),
                    ('test-dev2015', [(8000, 8, 'Why?')])):
        doc = dict(questions=[dict(question_id=q, image_id=i, question=t) for q, i, t in qs])
        _dump(dict(doc, data_subtype=sub) if with_subtype else doc,
              osp.join(root, 'vqa', f'v2_OpenEnded_mscoco_{sub}_questions.json'))
        folder = 'test2015' if sub.startswith('test') else sub
        for _, image_id, _ in qs:
            path = osp.join(root, folder, f'COCO_{folder}_{image_id:012d}.jpg')
            os.makedirs(osp.dirname(path), exist_ok=True)
            Image.new('RGB', (8, 6), (image_id * 20, 0, 0)).save(path)
        if not sub.startswith('test'):
            anns = [dict(question_id=q, image_id=i, multiple_choice_answer=ANSWERS[q][0], answer_type='other',
                         answers=[dict(answer=a, answer_confidence='yes', answer_id=k + 1)
                                  for k, a in enumerate(ANSWERS[q][1])]) for q, i, _ in qs]
            doc = dict(annotations=anns)
            _dump(dict(doc, data_subtype=sub) if with_subtype else doc,
                  osp.join(root, 'vqa', f'v2_mscoco_{sub}_annotations.json'))
    return root


@pytest.fixture
def vqa_root(tmp_path):
    return make_vqa(tmp_path / 'coco')


def test_soft_score_table():
    assert [soft_score(c) for c in range(7)] == [0.0, 0.3, 0.6, 0.9, 1.0, 1.0, 1.0]


@pytest.mark.parametrize('min_count', [1, 2, 3])
def test_vocabulary_threshold_and_first_appearance_order(vqa_root, min_count):
    anns = [json.load(open(osp.join(vqa_root, 'vqa', f'v2_mscoco_{s}_annotations.json')))['annotations']
            for s in ('train2014', 'val2014')]
    # 'yes' is the most frequent (3) but comes after 'red' and '2': BEiT-3 keeps Counter insertion order.
    assert vqa_answer_vocabulary(anns, min_count) == VOCAB[min_count]


@pytest.mark.parametrize('min_count,table', [(1, LABELS_MIN1), (2, LABELS_MIN2)])
def test_soft_targets_against_hand_table(vqa_root, min_count, table):
    ds = VQAv2(vqa_root, split='val', min_answer_count=min_count, answer_file=f'vqa/answers_{min_count}.txt')
    ds_train = VQAv2(vqa_root, split='train', min_answer_count=min_count, answer_file=f'vqa/answers_{min_count}.txt',
                     drop_unanswerable=False)
    assert ds.metainfo['answers'] == VOCAB[min_count]
    items = [ds_train.get_data_info(i) for i in range(len(ds_train))] + [ds.get_data_info(i) for i in range(len(ds))]
    got = {d['question_id']: (d['answer_labels'], d['answer_scores']) for d in items}
    assert got == table
    assert {d['question_id']: d['gt_answers'] for d in items} == {q: a for q, (_, a) in ANSWERS.items()}


def test_item_fields(vqa_root):
    ds = VQAv2(vqa_root, split='train', min_answer_count=1)
    info = ds.get_data_info(0)
    info.pop('sample_idx')
    assert info == dict(img_path=osp.join(vqa_root, 'train2014', 'COCO_train2014_000000000001.jpg'),
                        question='What color is the ball?', question_id=1000, image_id=1,
                        gt_answers=ANSWERS[1000][1], answer_labels=[0, 4], answer_scores=[1.0, 0.6],
                        answer_type='other')
    test = VQAv2(vqa_root, split='test-dev', min_answer_count=1).get_data_info(0)
    assert test['img_path'].endswith(osp.join('test2015', 'COCO_test2015_000000000008.jpg'))
    assert 'gt_answers' not in test and 'answer_labels' not in test and test['question_id'] == 8000


def test_answer_file_built_once_then_read(vqa_root):
    path = osp.join(vqa_root, 'vqa', 'answer2label.txt')
    with mock.patch('beitmm.datasets.vl.vqav2.print_log') as log:
        VQAv2(vqa_root, split='val', min_answer_count=2)
    assert 'built 3 answers' in log.call_args_list[0].args[0] and path in log.call_args_list[0].args[0]
    lines = [json.loads(line) for line in open(path)]
    assert lines == [{'answer': 'red', 'label': 0}, {'answer': '2', 'label': 1}, {'answer': 'yes', 'label': 2}]
    assert not [f for f in os.listdir(osp.dirname(path)) if f.endswith('.tmp')]  # written atomically
    with mock.patch('beitmm.datasets.vl.vqav2.print_log') as log:  # read back; a new threshold does not rebuild
        ds = VQAv2(vqa_root, split='val', min_answer_count=1)
    assert ds.metainfo['answers'] == ['red', '2', 'yes'] and 'read from' in log.call_args_list[0].args[0]


def test_dropped_in_training_kept_in_evaluation(vqa_root):
    with mock.patch('beitmm.datasets.vl.vqav2.print_log') as log:
        ds = VQAv2(vqa_root, split='train', min_answer_count=2)
    assert [ds.get_data_info(i)['question_id'] for i in range(len(ds))] == [1000, 1001]
    assert ds.num_dropped == {'train': 1}
    warning = [c.args[0] for c in log.call_args_list if 'split' in c.args[0]]
    assert warning == ["VQAv2 split 'train': dropped 1 of 3 questions whose answers are all outside the "
                       '3-answer vocabulary']
    val = VQAv2(vqa_root, split='val', min_answer_count=2)
    assert len(val) == 7 and val.num_dropped == {'val': 0}
    assert val.get_data_info(6)['answer_labels'] == [] and val.get_data_info(6)['question_id'] == 7000
    dropped = VQAv2(vqa_root, split='val', min_answer_count=2, drop_unanswerable=True)
    assert len(dropped) == 6 and dropped.num_dropped == {'val': 1}


def _image_ids(ds):
    return {ds.get_data_info(i)['image_id'] for i in range(len(ds))}


def test_rest_val_seeded_and_disjoint(vqa_root):
    kw = dict(min_answer_count=1, rest_val_images=2, serialize_data=False)  # no gc.collect per dataset: faster
    rest = VQAv2(vqa_root, split='rest_val', rest_val_seed=0, **kw)
    again = VQAv2(vqa_root, split='rest_val', rest_val_seed=0, **kw)
    trainable = VQAv2(vqa_root, split='trainable_val', rest_val_seed=0, **kw)
    assert len(_image_ids(rest)) == 2 and _image_ids(rest) == _image_ids(again)
    assert not _image_ids(rest) & _image_ids(trainable)
    assert _image_ids(rest) | _image_ids(trainable) == {3, 4, 5, 6, 7}
    assert len(rest) + len(trainable) == len(VAL_Q)  # every val question once (none dropped at min count 1)
    choices = {frozenset(_image_ids(VQAv2(vqa_root, split='rest_val', rest_val_seed=s, **kw))) for s in range(8)}
    assert len(choices) > 1  # the seed matters
    both = VQAv2(vqa_root, split=('train', 'trainable_val'), **kw)
    assert len(both) == 3 + len(trainable) and list(both.num_dropped) == ['train', 'trainable_val']
    with mock.patch('beitmm.datasets.vl.vqav2.print_log') as log:  # too few val images: all are rest_val
        rest = VQAv2(vqa_root, split=('rest_val', 'trainable_val'), min_answer_count=1, rest_val_images=9)
    assert len(rest) == len(VAL_Q) and {rest.get_data_info(i)['question_id'] for i in range(len(rest))} == \
        {q for q, _, _ in VAL_Q}
    assert any('rest_val_images=9 but val2014 has only 5 images' in c.args[0] for c in log.call_args_list)


def test_pipeline_through_registry(vqa_root):
    pipeline = [dict(type='mmpretrain.LoadImageFromFile'),
                dict(type='mmpretrain.PackInputs', algorithm_keys=['question', 'gt_answers', 'answer_labels',
                                                                  'answer_scores'],
                     meta_keys=['question_id', 'image_id'])]
    with DefaultScope.overwrite_default_scope('beitmm'):
        from beitmm.registry import DATASETS
        ds = DATASETS.build(dict(type='beitmm.VQAv2', data_root=vqa_root, split='train', min_answer_count=1,
                                 pipeline=pipeline))
        out = ds[1]
    sample = out['data_samples']
    assert tuple(out['inputs'].shape) == (3, 6, 8)
    assert sample.question == 'How many dogs?' and sample.question_id == 1001 and sample.image_id == 1
    assert sample.answer_labels == [1, 0] and sample.answer_scores == [0.9, 0.3]


def test_missing_image_names_file_and_question(vqa_root):
    os.remove(osp.join(vqa_root, 'train2014', 'COCO_train2014_000000000002.jpg'))
    with pytest.raises(FileNotFoundError, match=r"COCO_train2014_000000000002\.jpg' of question_id 2000"):
        VQAv2(vqa_root, split='train', min_answer_count=1)
    assert len(VQAv2(vqa_root, split='train', min_answer_count=1, check_images=False)) == 3


def test_annotations_of_the_wrong_split(tmp_path):
    root = make_vqa(tmp_path / 'a')
    vqa = osp.join(root, 'vqa')
    shutil.copy(osp.join(vqa, 'v2_mscoco_val2014_annotations.json'),
                osp.join(vqa, 'v2_mscoco_train2014_annotations.json'))
    with pytest.raises(ValueError, match="data_subtype 'val2014', expected 'train2014'.*wrong split"):
        VQAv2(root, split='train', answer_file=osp.join(str(tmp_path), 'answers.txt'))
    root = make_vqa(tmp_path / 'b', with_subtype=False)  # no data_subtype: the question ids give it away
    vqa = osp.join(root, 'vqa')
    shutil.copy(osp.join(vqa, 'v2_mscoco_val2014_annotations.json'),
                osp.join(vqa, 'v2_mscoco_train2014_annotations.json'))
    with pytest.raises(ValueError, match=r'annotations\[0\] \(question_id 3000, image_id 3\) does not match .*wrong'):
        VQAv2(root, split='train', answer_file=osp.join(str(tmp_path), 'answers_b.txt'), min_answer_count=1)


def test_bad_inputs(vqa_root, tmp_path):
    with pytest.raises(ValueError, match=r"split must be one of .*'rest_val'.*got 'minival'"):
        VQAv2(vqa_root, split='minival')
    bad = tmp_path / 'bad.txt'
    bad.write_text('{"answer": "a", "label": 0}\n{"answer": "b", "label": 2}\n')
    with pytest.raises(ValueError, match='line 2: label 2, expected 1'):
        read_answer_file(str(bad))
    with pytest.raises(FileNotFoundError, match='v2_mscoco_train2014_annotations.json.*does not exist'):
        VQAv2(str(tmp_path / 'nowhere'), split='val')
    with pytest.raises(ValueError, match='no multiple_choice_answer occurs 50 times'):
        VQAv2(vqa_root, split='val', min_answer_count=50)


def test_answer_vocabulary_cli(vqa_root, capsys):
    import importlib.util

    from beitmm.testing.shrink import ROOT
    spec = importlib.util.spec_from_file_location(
        'vqav2_answers', osp.join(ROOT, 'tools', 'dataset_converters', 'vqav2_answers.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    cli.main([vqa_root, '--min-count', '2'])
    assert read_answer_file(osp.join(vqa_root, 'vqa', 'answer2label.txt')) == VOCAB[2]
    assert '3 answers seen >= 2 times in 10 train + val annotations' in capsys.readouterr().out
    with pytest.raises(SystemExit, match='exists; pass --force'):
        cli.main([vqa_root])
    cli.main([vqa_root, '--min-count', '3', '--force'])
    assert VQAv2(vqa_root, split='val').metainfo['answers'] == VOCAB[3]


def test_answer_file_at_unilms_location_keeps_its_label_order(vqa_root):
    """The answer2label.txt unilm writes at the data root (beit3/datasets.py:356,558) is read first, as it is."""
    unilm_order = ['yes', 'red', '2']  # not beitmm's first-appearance order: the file's order must win
    with open(osp.join(vqa_root, 'answer2label.txt'), 'w') as f:
        f.writelines(json.dumps({'answer': a, 'label': i}) + '\n' for i, a in enumerate(unilm_order))
    ds = VQAv2(vqa_root, split='val', min_answer_count=2)
    assert ds.answers == unilm_order and ds.answer_file == osp.join(vqa_root, 'answer2label.txt')
    assert not osp.exists(osp.join(vqa_root, 'vqa', 'answer2label.txt'))  # nothing rebuilt
    shutil.copy(osp.join(vqa_root, 'answer2label.txt'), osp.join(vqa_root, 'vqa', 'answer2label.txt'))
    assert VQAv2(vqa_root, split='val').answers == unilm_order  # both present and equal: fine
    os.remove(osp.join(vqa_root, 'answer2label.txt'))
    VQAv2(vqa_root, split='val', min_answer_count=2, answer_file='vqa/other.txt')  # builds beitmm's order there
    shutil.copy(osp.join(vqa_root, 'vqa', 'other.txt'), osp.join(vqa_root, 'answer2label.txt'))
    with pytest.raises(ValueError, match="unilm's location.*different answers or label orders"):
        VQAv2(vqa_root, split='val')


def test_vocabulary_uses_glossary_normalize_word_without_strip():
    """A trailing space next to punctuation: normalize_word gives 'aaa' (the prediction step would give 'aa')."""
    anns = [[dict(multiple_choice_answer='a.)aa?) ')] * 2]
    assert vqa_answer_vocabulary(anns, 1) == ['aaa']
