"""VL inference API: each function against the model run on hand-preprocessed images (BGR -> RGB, (x - 127.5) / 127.5).

The data are generated in the released layouts.
"""
import json
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch

from beitmm.apis import answer_question, inference_model, init_model, judge_statement, rank_images, rank_texts
from beitmm.testing.shrink import config_path
from beitmm.testing.synthetic_vl import make_vl_data
from beitmm.testing.vl import tiny_tokenizer_files


@pytest.fixture(scope='module')
def vl_data(tmp_path_factory):
    return make_vl_data(str(tmp_path_factory.mktemp('vl') / 'vl'), num_train_images=4, num_val_images=6,
                        img_size=64, min_answer_count=1)


def _model(name: str, num_labels: int = 0):
    torch.manual_seed(0)
    opts = {'model.tokenizer.model_file': tiny_tokenizer_files()['spm'], 'model.backbone.vocab_size': 160}
    if num_labels:
        opts['model.num_labels'] = num_labels
    return init_model(config_path(f'demo/beit3-tiny_demo_{name}.py'), cfg_options=opts)


def _by_hand(path: str) -> torch.Tensor:
    img = mmcv.imread(path)[..., ::-1].astype(np.float32)  # BGR -> RGB
    return torch.from_numpy((img - 127.5) / 127.5).permute(2, 0, 1)[None]  # [1, 3, 64, 64]


def _val_image(vl_data) -> str:
    with open(osp.join(vl_data['coco_root'], 'dataset_coco.json')) as f:
        im = next(i for i in json.load(f)['images'] if i['split'] == 'val')
    return osp.join(vl_data['coco_root'], im['filepath'], im['filename'])


def test_answer_question_runs_the_test_pipeline(vl_data):
    model = _model('vqa', len(vl_data['answers']))
    model.answers = vl_data['answers']
    path = _val_image(vl_data)
    top = answer_question(model, path, 'what color is the circle?', topk=3)
    with torch.no_grad():
        probs = model.logits(_by_hand(path), ['what color is the circle?'])[0].sigmoid()
    assert [a for a, _ in top] == [model.answers[i] for i in probs.topk(3).indices.tolist()]
    assert top[0][1] == pytest.approx(probs.max().item(), abs=1e-6)
    sample = inference_model(model, mmcv.imread(path), 'what color is the circle?')  # a BGR array works too
    assert sample.pred_answer == top[0][0]
    model.answers = None
    with pytest.raises(ValueError, match='answer vocabulary'):
        answer_question(model, path, 'what color is the circle?')
    model.dataset_meta = dict(answers=vl_data['answers'][:-1])  # e.g. another split's vocabulary
    with pytest.raises(ValueError, match='does not belong to this model'):
        answer_question(model, path, 'what color is the circle?')


def test_judge_statement_reads_both_images(vl_data):
    model = _model('nlvr2')
    root = vl_data['nlvr2_root']
    with open(osp.join(root, 'dev.json')) as f:
        ex = json.loads(f.readline())
    stem = ex['identifier'].rsplit('-', 1)[0]
    pair = [osp.join(root, 'dev', f'{stem}-img{k}.png') for k in range(2)]
    verdict, p_true = judge_statement(model, pair, ex['sentence'])
    with torch.no_grad():
        imgs = torch.stack([_by_hand(p)[0] for p in pair])[None]  # [1, 2, 3, 64, 64]
        expected = model.logits(imgs, [ex['sentence']]).softmax(-1)[0, 1].item()
    assert p_true == pytest.approx(expected, abs=1e-6) and verdict == (expected > 0.5)
    with pytest.raises(ValueError, match='2 images'):
        judge_statement(model, pair[:1], ex['sentence'])


def test_rank_texts_and_images_are_the_cosine_orders(vl_data):
    model = _model('retrieval')
    path = _val_image(vl_data)
    texts = ['a red circle.', 'two blue squares.', 'a green triangle on the left.']
    ranked = rank_texts(model, path, texts)
    with torch.no_grad():
        sims = (model.image_features(_by_hand(path)) @ model.text_features(*model.tokenize(texts)).t())[0]
    assert [i for i, _ in ranked] == sims.argsort(descending=True).tolist()
    ranked_imgs = rank_images(model, texts[0], [path, path])
    assert ranked_imgs[0][1] == pytest.approx(sims[0].item(), abs=1e-5)
    out = inference_model(model, [path], texts)
    torch.testing.assert_close(out['i2t'][0], sims, atol=1e-5, rtol=1e-5)


def test_mmpretrain_style_inferencers_return_mmpretrain_keys(vl_data, tmp_path):
    from beitmm.apis import (
        ImageCaptionInferencer,
        ImageToTextRetrievalInferencer,
        NLVRInferencer,
        TextToImageRetrievalInferencer,
    )
    opts = {'model.tokenizer.model_file': tiny_tokenizer_files()['spm'], 'model.backbone.vocab_size': 160}
    path = _val_image(vl_data)
    texts = ['a red circle.', 'two blue squares.', 'a green triangle.']
    i2t = ImageToTextRetrievalInferencer(config_path('demo/beit3-tiny_demo_retrieval.py'), texts, cfg_options=opts)
    matches = i2t([path], topk=2)[0]
    assert [set(m) for m in matches] == [{'match_score', 'sample_idx', 'sample'}] * 2
    assert matches[0]['sample'] == texts[matches[0]['sample_idx']] and matches[0]['match_score'] >= \
        matches[1]['match_score']
    t2i = TextToImageRetrievalInferencer(config_path('demo/beit3-tiny_demo_retrieval.py'), [path, path],
                                         cfg_options=opts)
    assert len(t2i(texts[:1], topk=2)[0]) == 2
    root = vl_data['nlvr2_root']
    with open(osp.join(root, 'dev.json')) as f:
        ex = json.loads(f.readline())
    stem = ex['identifier'].rsplit('-', 1)[0]
    pair = [osp.join(root, 'dev', f'{stem}-img{k}.png') for k in range(2)]
    res = NLVRInferencer(config_path('demo/beit3-tiny_demo_nlvr2.py'), cfg_options=opts)([dict(images=pair,
                                                                                              text=ex['sentence'])])
    assert res[0]['pred_scores'].shape == (2, ) and res[0]['pred_label'] in (0, 1)
    caption = ImageCaptionInferencer(config_path('demo/beit3-tiny_demo_caption.py'), cfg_options=opts)([path])
    assert isinstance(caption[0]['pred_caption'], str)
