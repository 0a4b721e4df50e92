"""A deterministic synthetic vision-language dataset in the real VQAv2, NLVR2 and Karpathy layouts.

Images are scenes of 1-3 coloured shapes (:data:`KINDS` x :data:`COLORS`) in a few arrangements
(one shape left / right / top / bottom; two side by side or stacked; three in a row) on a quiet
textured background. Captions, questions (with 10 noisy annotator answers) and NLVR2 statements are
generated from the same scene record and are true of it; the records are saved in ``scenes.json``.
Every image has its own generator, seeded by ``(seed, stream, index)``.
"""
import json
import os
import os.path as osp
from collections import Counter
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

from .synthetic import _background, _paint, _prepare_root, shape_mask

KINDS = {'circle': 'disc', 'square': 'square', 'triangle': 'triangle'}  # word -> synthetic.shape_mask kind
COLORS = {'red': 0.0, 'yellow': 0.15, 'green': 0.33, 'blue': 0.63}  # word -> hue
NUMBERS = ('zero', 'one', 'two', 'three', 'four', 'five', 'six')
PHRASE = {'left': 'on the left', 'right': 'on the right', 'top': 'at the top', 'bottom': 'at the bottom',
          'middle': 'in the middle'}
CENTRES = {'left': (0.27, 0.5), 'right': (0.73, 0.5), 'top': (0.5, 0.27), 'bottom': (0.5, 0.73), 'middle': (0.5, 0.5)}
LAYOUTS = (('left', ), ('right', ), ('top', ), ('bottom', ), ('left', 'right'), ('top', 'bottom'),
           ('left', 'middle', 'right'))
ANSWER_POOLS = {'number': ('0', '1', '2', '3'), 'yes/no': ('yes', 'no'), 'color': tuple(COLORS),
                'shape': tuple(KINDS)}
NOISE = 0.12  # chance that one annotator answers wrongly (so soft scores below 1 occur)
STREAMS = dict(train2014=10, val2014=11, test2015=12, flickr=13, nlvr_train=14, nlvr_dev=15, nlvr_test1=16)


def sample_scene(rng: np.random.Generator, size: int) -> List[dict]:
    """1-3 shapes: ``kind``, ``color``, ``position`` and pixel ``x``, ``y``, ``radius``."""
    n = int(rng.integers(1, 4))  # counts 1 / 2 / 3 equally often
    layouts = [lay for lay in LAYOUTS if len(lay) == n]
    layout = layouts[int(rng.integers(len(layouts)))]
    r_frac = {1: (0.17, 0.22), 2: (0.14, 0.18), 3: (0.11, 0.14)}[n]  # no shape covers the centre of another
    return [dict(kind=str(rng.choice(list(KINDS))), color=str(rng.choice(list(COLORS))), position=pos,
                 x=float((CENTRES[pos][0] + rng.uniform(-0.03, 0.03)) * size),
                 y=float((CENTRES[pos][1] + rng.uniform(-0.03, 0.03)) * size),
                 radius=float(rng.uniform(*r_frac) * size)) for pos in layout]


def render_scene(rng: np.random.Generator, scene: List[dict], size: int) -> np.ndarray:
    """Paint ``scene`` on a low-saturation background. Returns ``[H, W, 3]`` uint8."""
    img = _background(rng, size, size, saturation=0.15)
    for s in scene:
        mask = shape_mask(KINDS[s['kind']], size, size, (s['x'], s['y']), s['radius'], rng.uniform(-0.3, 0.3))
        _paint(img, mask, rng, COLORS[s['color']] + rng.uniform(-0.02, 0.02), contrast=False)  # keep the hue true
    return np.clip(img, 0, 255).astype(np.uint8)


def _a(s: dict) -> str:
    return f"a {s['color']} {s['kind']}"


def captions(rng: np.random.Generator, scene: List[dict]) -> List[str]:
    """Five true captions of ``scene`` (raw COCO style: capitalised, final period)."""
    n, (a, b, c) = len(scene), [_a(s) for s in scene] + [''] * (3 - len(scene))
    if n == 1:
        p = PHRASE[scene[0]['position']]
        cands = [f'{a} {p}', f'one {a[2:]}', f'there is {a} {p}', f'an image with one {a[2:]}',
                 f"a {scene[0]['kind']} that is {scene[0]['color']}", f'a single shape: {a} {p}']
    elif n == 2 and scene[0]['position'] == 'left':
        cands = [f'{a} left of {b}', f'{b} right of {a}', f'{a} and {b}', f'two shapes: {a} on the left and {b} '
                 'on the right', f'there are two shapes, {a} and {b}', f'{a} next to {b}']
    elif n == 2:
        cands = [f'{a} above {b}', f'{b} below {a}', f'{a} and {b}', f'two shapes: {a} at the top and {b} at the '
                 'bottom', f'there are two shapes, {a} and {b}', f'{a} on top of {b}']
    else:
        cands = [f'{a}, {b} and {c}', f'three shapes: {a} on the left, {b} in the middle and {c} on the right',
                 f'{b} between {a} and {c}', f'three shapes in a row: {a}, {b} and {c}',
                 f'from left to right: {a}, {b} and {c}', f'{a} left of {b} and {c}']
    return [t[0].upper() + t[1:] + '.' for t in rng.choice(cands, 5, replace=False)]


def _unique(scene: List[dict], key: str) -> Dict[str, dict]:
    counts = Counter(s[key] for s in scene)
    return {s[key]: s for s in scene if counts[s[key]] == 1}


def questions(rng: np.random.Generator, scene: List[dict], num: int = 4) -> List[Tuple[str, str, str]]:
    """``num`` true ``(question, answer, answer type)`` about ``scene`` (answer type from :data:`ANSWER_POOLS`)."""
    kinds, colors = {s['kind'] for s in scene}, {s['color'] for s in scene}
    col, k = str(rng.choice(list(COLORS))), str(rng.choice(list(KINDS)))
    if rng.uniform() < 0.5:  # ask about a present kind half of the time: balanced yes / no
        k = str(rng.choice(sorted(kinds)))
    cands = [('How many shapes are there?', str(len(scene)), 'number'),
             (f'How many {col} shapes are there?', str(sum(s['color'] == col for s in scene)), 'number'),
             (f'Is there a {k}?', 'yes' if k in kinds else 'no', 'yes/no'),
             (f'Is there a {col} shape?', 'yes' if col in colors else 'no', 'yes/no')]
    cands += [(f'What color is the {kind}?', s['color'], 'color') for kind, s in _unique(scene, 'kind').items()]
    for s in scene:
        cands += [(f"What shape is {PHRASE[s['position']]}?", s['kind'], 'shape'),
                  (f"What color is the shape {PHRASE[s['position']]}?", s['color'], 'color')]
    return [cands[i] for i in rng.choice(len(cands), min(num, len(cands)), replace=False)]


def annotator_answers(rng: np.random.Generator, answer: str, kind: str) -> List[str]:
    """10 annotator answers: ``answer``, each replaced with chance :data:`NOISE` by another of its pool."""
    others = [a for a in ANSWER_POOLS[kind] if a != answer]
    return [str(rng.choice(others)) if rng.uniform() < NOISE else answer for _ in range(10)]


def statement(rng: np.random.Generator, left: List[dict], right: List[dict], target: bool) -> str:
    """An NLVR2-style statement about the pair (left, right) whose truth value is ``target``."""
    nl, nr = len(left), len(right)
    has = {side: ({s['color'] for s in sc}, {s['kind'] for s in sc}, {(s['color'], s['kind']) for s in sc})
           for side, sc in (('left', left), ('right', right))}
    families = [
        [('the left image has more shapes than the right image', nl > nr),
         ('the right image has more shapes than the left image', nr > nl),
         ('the left image has fewer shapes than the right image', nl < nr),
         ('both images have the same number of shapes', nl == nr)],
        [t for c in COLORS for t in (
            (f'both images contain a {c} shape', c in has['left'][0] and c in has['right'][0]),
            (f'exactly one image contains a {c} shape', (c in has['left'][0]) != (c in has['right'][0])),
            (f'neither image contains a {c} shape', c not in has['left'][0] | has['right'][0]))],
        [(f'the {side} image contains a {k}', k in has[side][1]) for side in has for k in KINDS],
        [(f'there are {NUMBERS[t]} shapes in total', nl + nr == t) for t in range(2, 7)],
        [(f'the {side} image contains a {c} {k}', (c, k) in has[side][2]) for side in has for c in COLORS
         for k in KINDS]]
    for f in rng.permutation(len(families)):
        texts = [t for t, truth in families[f] if truth == target]
        if texts:
            return str(rng.choice(texts))
    raise AssertionError('unreachable: the count family always has a true and a false statement')


def _save(img: np.ndarray, path: str) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(img).save(path, **({'format': 'JPEG', 'quality': 92} if path.endswith('.jpg') else {}))


def _dump(obj, path: str) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f)


def _coco_and_vqa(root: str, counts: Dict[str, int], size: int, seed: int, scenes: dict, corpus: list) -> dict:
    """COCO images, Karpathy ``dataset_coco.json`` and the VQAv2 question / annotation files under ``root/coco``."""
    coco, karpathy, sent_id, stats = osp.join(root, 'coco'), [], 0, {}
    for folder, n in counts.items():
        qs, anns = [], []
        for i in range(n):
            rng = np.random.default_rng((seed, STREAMS[folder], i))
            image_id = {'train2014': 100000, 'val2014': 200000, 'test2015': 300000}[folder] + i
            name = f'COCO_{folder}_{image_id:012d}.jpg'
            scene = sample_scene(rng, size)
            _save(render_scene(rng, scene, size), osp.join(coco, folder, name))
            scenes[f'coco/{folder}/{name}'] = scene
            if folder != 'test2015':  # Karpathy: train2014 -> train; val2014 -> val / test / restval
                split = 'train' if folder == 'train2014' else ('val', 'test', 'val', 'test', 'restval')[i % 5]
                caps = captions(rng, scene)
                sents = [dict(raw=t, tokens=t.lower().rstrip('.').replace(',', '').replace(':', '').split(),
                              imgid=len(karpathy), sentid=sent_id + j) for j, t in enumerate(caps)]
                karpathy.append(dict(filepath=folder, filename=name, imgid=len(karpathy), cocoid=image_id,
                                     split=split, sentences=sents, sentids=[s['sentid'] for s in sents]))
                sent_id = sent_id + len(sents)
                corpus.extend(caps)
            for k, (q, answer, kind) in enumerate(questions(rng, scene)):
                qs.append(dict(image_id=image_id, question=q, question_id=image_id * 1000 + k))
                answers = annotator_answers(rng, answer, kind)
                top = max(Counter(answers).items(), key=lambda kv: (kv[1], kv[0] == answer))[0]
                anns.append(dict(question_id=image_id * 1000 + k, image_id=image_id, question_type=' '.join(
                    q.lower().split()[:3]), answer_type=kind if kind in ('yes/no', 'number') else 'other',
                    multiple_choice_answer=top, answers=[dict(answer=a, answer_confidence='yes', answer_id=j + 1)
                                                         for j, a in enumerate(answers)]))
                corpus.append(q)
        meta = dict(info={'description': 'beitmm synthetic VQAv2'}, license={}, data_type='mscoco')
        subtypes = [folder] if folder != 'test2015' else ['test2015', 'test-dev2015']
        for sub in subtypes:  # test-dev: the questions of the first half of the test2015 images
            sub_qs = qs if sub != 'test-dev2015' else [q for q in qs if q['image_id'] < 300000 + (n + 1) // 2]
            _dump(dict(meta, task_type='Open-Ended', data_subtype=sub, questions=sub_qs),
                  osp.join(coco, 'vqa', f'v2_OpenEnded_mscoco_{sub}_questions.json'))
            stats[f'num_questions_{sub}'] = len(sub_qs)
        if folder != 'test2015':
            _dump(dict(meta, data_subtype=folder, annotations=anns),
                  osp.join(coco, 'vqa', f'v2_mscoco_{folder}_annotations.json'))
    _dump(dict(images=karpathy, dataset='coco'), osp.join(coco, 'dataset_coco.json'))
    return stats


def _flickr(root: str, counts: Dict[str, int], size: int, seed: int, scenes: dict, corpus: list) -> None:
    """Flickr30K images and ``dataset_flickr30k.json`` (no ``filepath``) under ``root/flickr30k``."""
    images, index = [], 0
    for split, n in counts.items():
        for _ in range(n):
            rng = np.random.default_rng((seed, STREAMS['flickr'], index))
            name = f'{1000000000 + index}.jpg'
            scene = sample_scene(rng, size)
            _save(render_scene(rng, scene, size), osp.join(root, 'flickr30k', 'flickr30k-images', name))
            scenes[f'flickr30k/flickr30k-images/{name}'] = scene
            caps = captions(rng, scene)
            sents = [dict(raw=t, tokens=t.lower().rstrip('.').split(), imgid=index, sentid=index * 5 + j)
                     for j, t in enumerate(caps)]
            images.append(dict(filename=name, imgid=index, split=split, sentences=sents,
                               sentids=[s['sentid'] for s in sents]))
            corpus.extend(caps)
            index += 1
    _dump(dict(images=images, dataset='flickr30k'), osp.join(root, 'flickr30k', 'dataset_flickr30k.json'))


def _nlvr2(root: str, counts: Dict[str, int], size: int, seed: int, scenes: dict, corpus: list) -> None:
    """NLVR2 ``{train,dev,test1}.json`` lines and image pairs (train in ``images/train/<directory>/``)."""
    for split, pairs in counts.items():
        lines = []
        for i in range(pairs):
            rng = np.random.default_rng((seed, STREAMS[f'nlvr_{split}'], i))
            set_id, pair_id, directory = i // 4, i % 4, (i // 4) % 10
            folder = osp.join('images', 'train', str(directory)) if split == 'train' else split
            pair = [sample_scene(rng, size) for _ in range(2)]
            for k, scene in enumerate(pair):
                rel = osp.join(folder, f'{split}-{set_id}-{pair_id}-img{k}.png')
                _save(render_scene(rng, scene, size), osp.join(root, 'nlvr2', rel))
                scenes[f'nlvr2/{rel}'] = scene
            for sentence_id, target in enumerate(rng.permutation([True, False])):  # one true, one false
                text = statement(rng, pair[0], pair[1], bool(target))
                line = dict(identifier=f'{split}-{set_id}-{pair_id}-{sentence_id}', sentence=text[0].upper() +
                            text[1:] + '.', label=str(bool(target)), left_url=f'synthetic://{split}/{i}/0',
                            right_url=f'synthetic://{split}/{i}/1', writer=0, synset='shape', query=f'shapes {i}')
                if split == 'train':
                    line['directory'] = directory
                lines.append(json.dumps(line))
                corpus.append(line['sentence'])
        with open(osp.join(root, 'nlvr2', f'{split}.json'), 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines) + '\n')


def make_vl_data(root: str, num_train_images: int = 400, num_val_images: int = 100, img_size: int = 64,
                 seed: int = 0, overwrite: bool = False, min_answer_count: int = 9,
                 nlvr2_pairs: Optional[Tuple[int, int]] = None) -> Dict:
    """Write the synthetic VL dataset in the released layouts.

    Layout (each folder is the ``data_root`` of its dataset)::

        root/coco/{train2014,val2014,test2015}/COCO_<folder>_<12-digit id>.jpg
        root/coco/vqa/v2_OpenEnded_mscoco_{train2014,val2014,test2015,test-dev2015}_questions.json
        root/coco/vqa/v2_mscoco_{train2014,val2014}_annotations.json, root/coco/vqa/answer2label.txt
        root/coco/dataset_coco.json              Karpathy: train2014 = train; val2014 = val / test / restval (2:2:1)
        root/flickr30k/dataset_flickr30k.json    root/flickr30k/flickr30k-images/<id>.jpg
        root/nlvr2/{train,dev,test1}.json        root/nlvr2/images/train/<directory>/*.png, dev/, test1/
        root/corpus.txt                          every caption, question and statement, one per line
        root/scenes.json                         image path (relative to root) -> list of its shapes

    Args:
        root: Output directory (created; must be empty or earlier synthetic output).
        num_train_images: COCO train2014 images (4 questions, 5 captions each); Flickr30K train and
            NLVR2 train pairs get half as many. Defaults to 400.
        num_val_images: COCO val2014 images; test2015, Flickr30K val / test and NLVR2 dev / test1 pairs
            get half as many each. Defaults to 100.
        img_size: Image side in pixels. Defaults to 64.
        seed: Random seed. Defaults to 0.
        overwrite: Replace earlier synthetic output in ``root``. Defaults to False.
        min_answer_count: Threshold of the written answer vocabulary (built as ``beitmm.VQAv2`` builds it).
            Defaults to 9.
        nlvr2_pairs: NLVR2 (train, dev / test1) image pairs; None: half the COCO train / val images.

    Returns:
        dict: ``root``, the dataset roots ``coco_root`` (VQAv2 and Karpathy COCO), ``flickr30k_root`` and
        ``nlvr2_root``, ``corpus_file``, ``scenes_file``, ``answers`` (the vocabulary), image and question counts.
    """
    from beitmm.datasets.vl.answers import vqa_answer_vocabulary, write_answer_file
    if num_train_images < 2 or num_val_images < 5:
        raise ValueError(f'need num_train_images >= 2 and num_val_images >= 5, got {num_train_images}, '
                         f'{num_val_images}')
    _prepare_root(root, overwrite)
    scenes, corpus, half = {}, [], num_val_images // 2
    info = _coco_and_vqa(root, dict(train2014=num_train_images, val2014=num_val_images, test2015=half),
                         img_size, seed, scenes, corpus)
    _flickr(root, dict(train=num_train_images // 2, val=half, test=half), img_size, seed, scenes, corpus)
    n_train, n_val = nlvr2_pairs or (num_train_images // 2, half)
    _nlvr2(root, dict(train=n_train, dev=n_val, test1=n_val), img_size, seed, scenes, corpus)
    vqa = osp.join(root, 'coco', 'vqa')
    anns = []
    for sub in ('train2014', 'val2014'):
        with open(osp.join(vqa, f'v2_mscoco_{sub}_annotations.json'), encoding='utf-8') as f:
            anns.append(json.load(f)['annotations'])
    answers = vqa_answer_vocabulary(anns, min_answer_count)
    write_answer_file(answers, osp.join(vqa, 'answer2label.txt'))
    with open(osp.join(root, 'corpus.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(corpus) + '\n')
    _dump(scenes, osp.join(root, 'scenes.json'))
    return dict(info, root=root, coco_root=osp.join(root, 'coco'), flickr30k_root=osp.join(root, 'flickr30k'),
                nlvr2_root=osp.join(root, 'nlvr2'), corpus_file=osp.join(root, 'corpus.txt'),
                scenes_file=osp.join(root, 'scenes.json'), answers=answers, num_images=len(scenes),
                num_train_images=num_train_images, num_val_images=num_val_images)
