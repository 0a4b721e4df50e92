"""The synthetic VL data: loads through the beitmm datasets, and its texts are true of the recorded scenes.

The checks below parse the generated English with their own regular expressions and judge it from the shapes'
pixel coordinates and colours in ``scenes.json`` (and the pixels themselves), not from the generator's phrase tables.
"""
import colorsys
import json
import os
import os.path as osp
import re
import time
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from beitmm.datasets.vl import NLVR2, KarpathyCaption, KarpathyRetrieval, VQAv2
from beitmm.testing.synthetic_vl import make_vl_data

HUES = {'red': 0.0, 'yellow': 0.15, 'green': 0.33, 'blue': 0.63}
SHAPE = r'(red|yellow|green|blue) (circle|square|triangle)'
SIZE = 32


@pytest.fixture(scope='module')
def vl(tmp_path_factory):
    info = make_vl_data(str(tmp_path_factory.mktemp('vl') / 'vl'), num_train_images=24, num_val_images=10,
                        img_size=SIZE, seed=0, min_answer_count=2)
    info['scenes'] = json.load(open(info['scenes_file']))
    return info


def _scene(vl, img_path):
    return vl['scenes'][osp.relpath(img_path, vl['root'])]


def _at(scene, where):
    """Shapes in a named region, by pixel coordinates."""
    lo, hi = 0.4 * SIZE, 0.6 * SIZE
    test = {'on the left': lambda s: s['x'] < lo, 'on the right': lambda s: s['x'] > hi,
            'at the top': lambda s: s['y'] < lo, 'at the bottom': lambda s: s['y'] > hi,
            'in the middle': lambda s: lo <= s['x'] <= hi and lo <= s['y'] <= hi}[where]
    return [s for s in scene if test(s)]


def _find(scene, color, kind):
    return [s for s in scene if (s['color'], s['kind']) == (color, kind)]


def check_caption(scene, caption):
    text = re.sub(r'a (circle|square|triangle) that is (\w+)', r'a \2 \1', caption.lower().rstrip('.'))
    mentions = re.findall(SHAPE, text)
    assert mentions and not Counter(mentions) - Counter((s['color'], s['kind']) for s in scene), caption
    for word, n in (('one', 1), ('single', 1), ('two', 2), ('three', 3)):
        if re.search(rf'\b{word}\b', text):
            assert len(scene) == n, caption
    for rel, axis, sign in (('left of', 'x', -1), ('right of', 'x', 1), ('above', 'y', -1), ('below', 'y', 1),
                            ('on top of', 'y', -1)):
        for c1, k1, c2, k2 in re.findall(rf'{SHAPE} {rel} a {SHAPE}', text):
            pairs = [(a, b) for a in _find(scene, c1, k1) for b in _find(scene, c2, k2)]
            assert any(sign * (a[axis] - b[axis]) > 0 for a, b in pairs), caption
    for c, k, where in re.findall(rf'{SHAPE} (on the left|on the right|at the top|at the bottom|in the middle)', text):
        assert any((s['color'], s['kind']) == (c, k) for s in _at(scene, where)), caption
    if 'from left to right' in text or 'in a row' in text:
        assert [(s['color'], s['kind']) for s in sorted(scene, key=lambda s: s['x'])] == mentions, caption
    if 'between' in text:
        (cb, kb), (c1, k1), (c2, k2) = mentions
        assert any(min(a['x'], c['x']) < b['x'] < max(a['x'], c['x']) for b in _find(scene, cb, kb)
                   for a in _find(scene, c1, k1) for c in _find(scene, c2, k2)), caption


def answer(scene, question):
    q = question.lower().rstrip('?')
    if q == 'how many shapes are there':
        return str(len(scene))
    if m := re.fullmatch(r'how many (\w+) shapes are there', q):
        return str(sum(s['color'] == m[1] for s in scene))
    if m := re.fullmatch(r'is there a (\w+) shape', q):
        return 'yes' if any(s['color'] == m[1] for s in scene) else 'no'
    if m := re.fullmatch(r'is there a (\w+)', q):
        return 'yes' if any(s['kind'] == m[1] for s in scene) else 'no'
    if m := re.fullmatch(r'what (color|shape) is (?:the shape )?(on the \w+|at the \w+|in the middle)', q):
        (shape, ) = _at(scene, m[2])
        return shape['color' if m[1] == 'color' else 'kind']
    if m := re.fullmatch(r'what color is the (\w+)', q):
        (shape, ) = [s for s in scene if s['kind'] == m[1]]
        return shape['color']
    raise AssertionError(f'unexpected question {question!r}')


def judge(left, right, sentence):
    t = sentence.lower().rstrip('.')
    nl, nr = len(left), len(right)
    colors = lambda sc: {s['color'] for s in sc}  # noqa: E731
    words = {'two': 2, 'three': 3, 'four': 4, 'five': 5, 'six': 6}
    fixed = {'the left image has more shapes than the right image': nl > nr,
             'the right image has more shapes than the left image': nr > nl,
             'the left image has fewer shapes than the right image': nl < nr,
             'both images have the same number of shapes': nl == nr}
    if t in fixed:
        return fixed[t]
    if m := re.fullmatch(r'(both images|exactly one image|neither image) contains? an? (\w+) shape', t):
        hits = (m[2] in colors(left)) + (m[2] in colors(right))
        return {'both images': hits == 2, 'exactly one image': hits == 1, 'neither image': hits == 0}[m[1]]
    if m := re.fullmatch(r'there are (\w+) shapes in total', t):
        return nl + nr == words[m[1]]
    if m := re.fullmatch(rf'the (left|right) image contains a (?:{SHAPE}|(circle|square|triangle))', t):
        scene = left if m[1] == 'left' else right
        return bool(_find(scene, m[2], m[3])) if m[2] else any(s['kind'] == m[4] for s in scene)
    raise AssertionError(f'unexpected statement {sentence!r}')


def test_images_show_the_recorded_colours(vl):
    for rel, scene in list(vl['scenes'].items())[:60]:
        img = np.asarray(Image.open(osp.join(vl['root'], rel)).convert('RGB'), np.float32) / 255
        for s in scene:
            x, y = int(round(s['x'])), int(round(s['y']))
            h, sat, _ = colorsys.rgb_to_hsv(*img[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).mean(0))
            assert sat > 0.25 and min(abs(h - HUES[s['color']]), 1 - abs(h - HUES[s['color']])) < 0.07, (rel, s)


def test_vqav2_loads_and_answers_are_true(vl):
    root = vl['coco_root']
    train = VQAv2(root, split=('train', 'trainable_val'), rest_val_images=3)
    rest = VQAv2(root, split='rest_val', rest_val_images=3)
    assert train.metainfo['answers'] == vl['answers'] and len(rest) > 0
    assert len(train) + len(rest) == vl['num_questions_train2014'] + vl['num_questions_val2014']
    assert sum(train.num_dropped.values()) == 0
    answers = train.metainfo['answers']
    scores = []
    for ds in (train, rest):
        for i in range(len(ds)):
            d = ds.get_data_info(i)
            truth = answer(_scene(vl, d['img_path']), d['question'])
            assert Counter(d['gt_answers']).most_common(1)[0][0] == truth, (d, _scene(vl, d['img_path']))
            score_of = {answers[label]: score for label, score in zip(d['answer_labels'], d['answer_scores'],
                                                                              strict=True)}
            if truth in answers:  # (a rare answer may miss min_answer_count=2 in this tiny set)
                assert score_of[truth] == max(d['answer_scores'])
            scores += d['answer_scores']
    assert {0.3, 1.0} <= set(scores)  # annotator noise gives partial soft scores
    test_dev, test = VQAv2(root, split='test-dev'), VQAv2(root, split='test')
    assert 0 < len(test_dev) < len(test) and 'gt_answers' not in test.get_data_info(0)


def test_nlvr2_loads_balanced_and_true(vl):
    for split in ('train', 'dev', 'test1'):
        ds = NLVR2(vl['nlvr2_root'], split=split)
        labels = [ds.get_data_info(i)['gt_label'] for i in range(len(ds))]
        assert labels.count(1) == labels.count(0) > 0
        for i in range(len(ds)):
            d = ds.get_data_info(i)
            if split == 'train':
                assert re.search(r'images/train/\d+/train-', d['img_path'][0])
            left, right = (_scene(vl, p) for p in d['img_path'])
            assert judge(left, right, d['text']) == bool(d['gt_label']), d


def test_karpathy_loads_and_captions_are_true(vl):
    for root, ann in ((vl['coco_root'], 'dataset_coco.json'), (vl['flickr30k_root'], 'dataset_flickr30k.json')):
        for split in ('train', 'val', 'test'):
            cap = KarpathyCaption(root, ann_file=ann, split=split, serialize_data=False)
            ret = KarpathyRetrieval(root, ann_file=ann, split=split, test_mode=True, serialize_data=False)
            assert len(cap) > 0 and ret.img_size == (len(cap) if split != 'train' else ret.img_size)
            for i in range(len(cap)):
                d = cap.get_data_info(i)
                for caption in [d['gt_caption']] if split == 'train' else d['gt_caption']:
                    check_caption(_scene(vl, d['img_path']), caption)
    coco_train = KarpathyCaption(vl['coco_root'], split='train')
    assert len(coco_train) == 5 * (24 + 2)  # train2014 + restval (every fifth val2014 image)


def test_corpus_and_vocabulary(vl):
    corpus = set(open(vl['corpus_file']).read().splitlines())
    coco = json.load(open(osp.join(vl['coco_root'], 'dataset_coco.json')))
    assert {s['raw'] for e in coco['images'] for s in e['sentences']} <= corpus
    nlvr = [json.loads(line) for line in open(osp.join(vl['nlvr2_root'], 'dev.json'))]
    assert {d['sentence'] for d in nlvr} <= corpus
    assert 'How many shapes are there?' in corpus
    lines = [json.loads(line) for line in open(osp.join(vl['coco_root'], 'vqa', 'answer2label.txt'))]
    assert [d['answer'] for d in lines] == vl['answers'] and [d['label'] for d in lines] == list(range(len(lines)))


def _tree(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            out[osp.relpath(osp.join(d, f), root)] = open(osp.join(d, f), 'rb').read()
    return out


def test_deterministic_and_seeded(tmp_path):
    a = make_vl_data(str(tmp_path / 'a'), num_train_images=4, num_val_images=5, img_size=16, seed=3)
    b = make_vl_data(str(tmp_path / 'b'), num_train_images=4, num_val_images=5, img_size=16, seed=3)
    c = make_vl_data(str(tmp_path / 'c'), num_train_images=4, num_val_images=5, img_size=16, seed=4)
    tree_a = _tree(a['root'])
    assert tree_a == _tree(b['root']) and tree_a != _tree(c['root'])
    with pytest.raises(FileExistsError, match='overwrite=True'):
        make_vl_data(a['root'], num_train_images=4, num_val_images=5)


def test_default_demo_set_is_fast_and_has_the_full_vocabulary(tmp_path):
    start = time.perf_counter()
    info = make_vl_data(str(tmp_path / 'vl'))
    assert time.perf_counter() - start < 30
    assert sorted(info['answers']) == sorted(['0', '1', '2', '3', 'yes', 'no', 'red', 'yellow', 'green', 'blue',
                                              'circle', 'square', 'triangle'])
