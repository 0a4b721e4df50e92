"""Dual-encoder retrieval: contrastive loss by hand, scores, re-ranking.

The 2-rank gathers: ``test_losses/test_contrastive.py``; gathers by id: ``test_utils/test_gather.py``; hard
negatives: ``test_losses/test_itm.py``.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from beitmm.registry import MODELS
from beitmm.testing.vl import tiny_backbone, tiny_tokenizer

TEXTS = ['a red circle', 'two blue squares', 'a green star left of a square', 'three shapes']


def _retriever(kind: str = 'beit3', **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(dict(type='beitmm.DualEncoderRetriever', backbone=tiny_backbone(kind),
                              tokenizer=tiny_tokenizer('spm' if kind == 'beit3' else 'wordpiece'), max_text_len=12,
                              **kwargs))
    model.init_weights()
    return model


def test_contrastive_loss_matches_the_formula():
    model = _retriever()
    img = torch.randn(4, 3, 32, 32)
    loss = model(img, [DataSample(text=t) for t in TEXTS], mode='loss')
    fi = model.image_features(img)
    ft = model.text_features(*model.tokenize(TEXTS))
    sims = (fi @ ft.t()).tolist()
    total = 0.
    for i in range(4):  # -log softmax of the diagonal, both directions, by hand
        total -= math.log(math.exp(sims[i][i] / 0.07) / sum(math.exp(s / 0.07) for s in sims[i]))
        col = [sims[j][i] for j in range(4)]
        total -= math.log(math.exp(sims[i][i] / 0.07) / sum(math.exp(s / 0.07) for s in col))
    assert loss['loss_itc'].item() == pytest.approx(total / 8, rel=1e-4)
    assert loss['logit_scale'].item() == pytest.approx(1 / 0.07, rel=1e-6)


def test_predict_all_scores_every_image_against_every_caption():
    model = _retriever().eval()
    items = [DataSample(text=TEXTS[:2], gt_text_id=[0, 1], gt_image_id=[0, 0], image_id=0),
             DataSample(text=TEXTS[2:], gt_text_id=[2, 3], gt_image_id=[1, 1], image_id=1)]
    img = torch.randn(2, 3, 32, 32)
    feats = model(img, items, mode='tensor')
    assert feats['image_feat'].shape == (2, 32) and feats['text_feat'].shape == (4, 32)
    i2t, t2i = model.predict_all(feats, items, num_images=2, num_texts=4)
    expected = model.image_features(img) @ model.text_features(*model.tokenize(TEXTS)).t()
    torch.testing.assert_close(torch.stack([s.pred_score for s in i2t]), expected)
    torch.testing.assert_close(torch.stack([s.pred_score for s in t2i]), expected.t())
    assert [s.gt_label for s in i2t] == [[0, 1], [2, 3]] and [s.gt_label for s in t2i] == [0, 0, 1, 1]
    with pytest.raises(ValueError, match='RetrievalValLoop'):
        model(img, items, mode='predict')
    with pytest.raises(ValueError, match="image_id"):
        model.predict_all(feats, [DataSample(text=TEXTS[:2], gt_text_id=[0, 1])] * 2, 2, 4)


def test_rerank_orders_the_top_k_by_the_itm_score():
    model = _retriever('vlmo', rerank_topk=2).eval()
    items = [DataSample(text=[t], gt_text_id=[i], gt_image_id=[i], image_id=i) for i, t in enumerate(TEXTS[:3])]
    feats = model(torch.randn(3, 3, 32, 32), items, mode='tensor')
    feats['image_feat'] = torch.eye(3)  # ITC: image q is most similar to text q, then text q + 1
    feats['text_feat'] = torch.tensor([[1., 0, 0], [0.9, 1, 0], [0, 0.9, 1]])
    feats['text_feat'] = F.normalize(feats['text_feat'], dim=-1)
    # an ITM head that prefers the *second* ITC candidate: match logit = text index
    model.itm_logits = lambda img, ids, pad: torch.stack(
        [torch.zeros(len(ids)), torch.tensor([float(TEXT_INDEX[tuple(r.tolist())]) for r in ids])], dim=1)
    all_ids = feats['text_ids']
    TEXT_INDEX.clear()
    TEXT_INDEX.update({tuple(r.tolist()): i for i, r in enumerate(all_ids)})
    i2t, _ = model.predict_all(feats, items, num_images=3, num_texts=3)
    scores = torch.stack([s.pred_score for s in i2t])
    assert (scores[0] > -100).tolist() == [True, True, False]  # top-2 of image 0 by ITC: texts 0, 1
    assert scores[0].argmax().item() == 1  # re-ranked: text 1 has the larger ITM match logit
    log_p = F.log_softmax(torch.tensor([0., 1.]), 0)[1].item()
    assert scores[0, 1].item() == pytest.approx(log_p, rel=1e-6)


TEXT_INDEX: dict = {}
