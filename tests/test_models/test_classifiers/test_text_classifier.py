"""TextClassifier: pooled first token of each text encoder -> linear head; the loss is torch's cross-entropy."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from beitmm.registry import MODELS
from beitmm.testing.vl import tiny_backbone, tiny_tokenizer

BERT = dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=160, max_position_embeddings=40)
BACKBONES = {'bert': (BERT, 'wordpiece'),
             'beit3': (tiny_backbone('beit3', modalities=('language', )), 'spm'),
             'vlmo': (tiny_backbone('vlmo'), 'wordpiece')}
TEXTS = ['a red circle left of a square', 'two shapes', 'a blue star', 'three yellow triangles']


def _model(kind: str, **kw):
    backbone, tok = BACKBONES[kind]
    model = MODELS.build(dict(type='beitmm.TextClassifier', num_classes=3, max_len=16, dropout=0., backbone=backbone,
                              tokenizer=tiny_tokenizer(tok), **kw))
    model.init_weights()
    return model


def _samples(labels):
    return [DataSample(text=t).set_gt_label(lab) for t, lab in zip(TEXTS, labels, strict=True)]


@pytest.mark.parametrize('kind', sorted(BACKBONES))
def test_loss_is_cross_entropy_of_the_pooled_first_token(kind):
    torch.manual_seed(0)
    model = _model(kind).eval()  # no dropout: the by-hand pass must see the same network
    batch = model.tokenizer.encode_batch(TEXTS, 16, 'warn', 'longest')
    hidden = model.backbone.encode_text(batch['input_ids'], segments=torch.zeros_like(batch['input_ids']),
                                        padding=batch['padding_mask'])
    logits = model.classifier(torch.tanh(model.pooler.dense(hidden[:, 0])))  # by hand, HF BertPooler's form
    labels = torch.tensor([0, 2, 1, 2])
    out = model(data_samples=_samples(labels.tolist()), mode='loss')
    torch.testing.assert_close(out['loss'], F.cross_entropy(logits, labels))
    out['loss'].backward()
    assert model.backbone.parameters().__next__().grad is not None
    preds = model(data_samples=_samples([0] * 4), mode='predict')
    torch.testing.assert_close(torch.stack([p.pred_score for p in preds]), logits.softmax(-1).detach())


def test_learns_a_separable_task():
    torch.manual_seed(0)
    model = _model('bert')
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    labels = [0, 1, 2, 1]
    for _ in range(40):
        opt.zero_grad()
        model(data_samples=_samples(labels), mode='loss')['loss'].backward()
        opt.step()
    assert [int(p.pred_label) for p in model(data_samples=_samples(labels), mode='predict')] == labels


def test_bad_labels_and_texts_name_the_setting():
    model = _model('bert')
    with pytest.raises(ValueError, match='num_classes'):
        model(data_samples=_samples([0, 1, 2, 3]), mode='loss')
    with pytest.raises(ValueError, match='sample 0'):
        model(data_samples=[DataSample(gt_label=0)], mode='loss')
    with pytest.raises(ValueError, match='num_classes must be'):
        MODELS.build(dict(type='beitmm.TextClassifier', num_classes=1, backbone=BERT, tokenizer=tiny_tokenizer('x')))
