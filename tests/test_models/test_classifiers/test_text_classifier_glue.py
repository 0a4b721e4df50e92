"""TextClassifier on GLUE-style samples: pairs packed as BertTokenizer packs them, regression with an MSE loss."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample
from transformers import BertTokenizer

import beitmm.models  # noqa: F401,I001  (registers the models)
from beitmm.registry import MODELS
from beitmm.testing.vl import tiny_backbone, tiny_tokenizer
from beitmm.text.pairs import encode_pairs


def _model(regression=False):
    torch.manual_seed(0)
    m = MODELS.build(dict(type='beitmm.TextClassifier', num_classes=1 if regression else 3, regression=regression,
                          max_len=24, backbone=dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=160,
                                                    max_position_embeddings=40, hidden_dropout=0., attn_dropout=0.),
                          tokenizer=tiny_tokenizer('wordpiece')))
    m.init_weights()
    return m.eval()


def _sample(a, b=None, score=None, label=None):
    s = DataSample()
    s.set_field(a, 'text')
    if b is not None:
        s.set_field(b, 'text_b')
    if score is not None:
        s.set_gt_score([score])
    if label is not None:
        s.set_gt_label(label)
    return s


def test_pair_logits_use_bert_tokenizer_ids_and_segments():
    m = _model()
    ref = BertTokenizer(vocab_file=m.tokenizer.vocab_file)
    pairs = [('a red ball', 'the dog runs'), ('two cats sitting on a table', 'a man')]
    want = ref([a for a, _ in pairs], [b for _, b in pairs], padding='longest', truncation=True, max_length=24,
               return_tensors='pt')
    with torch.no_grad():
        hidden = m.backbone(want['input_ids'], padding_mask=want['attention_mask'] == 0,
                            token_types=want['token_type_ids'])  # [B, L, C]
        expected = m.classifier(torch.tanh(m.pooler.dense(hidden[:, 0])))
        got = m([], [_sample(a, b) for a, b in pairs], mode='tensor')
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    swapped = m([], [_sample(b, a) for a, b in pairs], mode='tensor')
    assert not torch.allclose(swapped, got)  # segment ids and order matter


def test_regression_loss_is_mse_and_predict_gives_the_output():
    m = _model(regression=True)
    samples = [_sample('a red ball', 'a blue ball', score=3.2), _sample('a dog', 'the sky', score=0.4)]
    with torch.no_grad():
        out = m([], samples, mode='tensor')[:, 0]  # [B]
        loss = m([], samples, mode='loss')['loss']
        preds = m([], samples, mode='predict')
    assert loss.item() == pytest.approx(F.mse_loss(out, torch.tensor([3.2, 0.4])).item(), rel=1e-6)
    assert [float(p.pred_score[0]) for p in preds] == pytest.approx(out.tolist())


def test_bad_settings_and_mixed_batches_are_refused():
    with pytest.raises(ValueError, match='regression=True needs num_classes=1'):
        MODELS.build(dict(type='beitmm.TextClassifier', num_classes=2, regression=True,
                          backbone=dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=160),
                          tokenizer=tiny_tokenizer('wordpiece')))
    with pytest.raises(ValueError, match='some samples of the batch have a string `text_b`'):
        _model()([], [_sample('a', 'b', label=0), _sample('c', label=1)], mode='loss')


@pytest.mark.parametrize('kind,tok', [('beit3', 'spm'), ('vlmo', 'wordpiece')])
def test_pairs_and_regression_run_on_the_multiway_text_branches(kind, tok):
    """BEiT-3 (SentencePiece: <s> a </s></s> b </s>) and VLMo text branches take GLUE pairs and the STS-B head."""
    backbone = tiny_backbone('beit3', modalities=('language', )) if kind == 'beit3' else tiny_backbone('vlmo')
    m = MODELS.build(dict(type='beitmm.TextClassifier', num_classes=1, regression=True, max_len=24,
                          backbone=backbone, tokenizer=tiny_tokenizer(tok)))
    m.init_weights()
    samples = [_sample('a red ball', 'a blue ball', score=3.2), _sample('a dog', 'the sky', score=0.4)]
    loss = m([], samples, mode='loss')['loss']
    loss.backward()
    assert torch.isfinite(loss) and m.classifier.weight.grad.abs().sum() > 0
    ids = encode_pairs(m.tokenizer, ['a dog'], ['the sky'], 24)['input_ids'][0].tolist()
    sep = m.tokenizer.sep_id
    assert ids.count(sep) == (3 if tok == 'spm' else 2)  # <s> a </s></s> b </s> / [CLS] a [SEP] b [SEP]
