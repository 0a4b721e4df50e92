"""VQA and NLVR2 models: the pooled token of each layout, the loss against hand formulas, official key names."""
import math

import pytest
import torch
from mmpretrain.structures import DataSample

from beitmm.checkpoint import convert_state_for_model
from beitmm.registry import MODELS
from beitmm.testing.vl import tiny_backbone, tiny_tokenizer

QUESTIONS = ['what color is the circle?', 'how many shapes are there?']


def _vqa(kind: str, **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(dict(type='beitmm.VQAClassifier', backbone=tiny_backbone(kind),
                              tokenizer=tiny_tokenizer('spm' if kind == 'beit3' else 'wordpiece'), num_labels=5,
                              max_text_len=12, **kwargs))
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('kind', ['beit3', 'vlmo'])
def test_vqa_pools_the_layouts_first_token(kind):
    """BEiT-3 pools its image cls, VLMo its text [CLS]: token 0 of each one's sequence (Pooler, VLMo.infer)."""
    model = _vqa(kind)
    img = torch.randn(2, 3, 32, 32)
    ids, pad = model.tokenize(QUESTIONS)
    hidden = model.backbone(image=img, text=ids, text_padding_mask=pad)[-1]
    head = model.head if kind == 'beit3' else model.vqa_classifier
    expected = head(model.pooler(hidden[:, 0]))
    torch.testing.assert_close(model.logits(img, QUESTIONS), expected)
    if kind == 'beit3':  # image tokens first: the pooled token is the image cls, the text starts after 1 + 4 patches
        fused = model.encode(img, ids, pad)
        assert (fused['image_start'], fused['text_start']) == (0, 5)
    else:
        fused = model.encode(img, ids, pad)
        assert (fused['text_start'], fused['image_start']) == (0, ids.shape[1])


def test_vqa_loss_is_bce_times_num_labels_on_soft_scores():
    model = _vqa('beit3')
    img = torch.randn(2, 3, 32, 32)
    samples = [DataSample(question=QUESTIONS[0], answer_labels=[1, 3], answer_scores=[1.0, 0.3]),
               DataSample(question=QUESTIONS[1], answer_labels=[], answer_scores=[])]
    logits = model.logits(img, QUESTIONS)
    target = [[0, 1.0, 0, 0.3, 0], [0] * 5]
    by_hand = 0.
    for row, trow in zip(logits.tolist(), target, strict=True):
        for z, t in zip(row, trow, strict=True):
            p = 1 / (1 + math.exp(-z))
            by_hand -= t * math.log(p) + (1 - t) * math.log(1 - p)
    by_hand = by_hand / 10 * 5  # mean over 2 x 5 entries, times num_labels
    assert model(img, samples, mode='loss')['loss'].item() == pytest.approx(by_hand, rel=1e-5)


def test_vqa_predicts_answers_and_rejects_bad_labels():
    model = _vqa('beit3', answers=['red', 'blue', '2', 'yes', 'no'])
    samples = [DataSample(question=q) for q in QUESTIONS]
    out = model(torch.randn(2, 3, 32, 32), samples, mode='predict')
    assert [s.pred_answer for s in out] == [model.answers[s.pred_label] for s in out]
    with pytest.raises(ValueError, match='question_id 7: label 9'):
        model(torch.randn(1, 3, 32, 32), [DataSample(question='q', question_id=7, answer_labels=[9],
                                                      answer_scores=[1.])], mode='loss')
    with pytest.raises(ValueError, match="no text field 'question'"):
        model(torch.randn(1, 3, 32, 32), [DataSample(text='q')], mode='predict')


def test_official_unilm_vqa_checkpoint_loads_by_copy():
    """Unilm-layout keys (``beit3.*``, ``pooler.*``, ``head.{0,1,3}``) fill the VQA model."""
    model = _vqa('beit3')
    state = {(k.replace('backbone.', 'beit3.', 1) if k.startswith('backbone.') else k): v.clone() + 1
             for k, v in model.state_dict().items()}
    heads = {'pooler.norm.weight', 'pooler.dense.weight', 'head.0.weight', 'head.1.weight', 'head.3.weight'}
    assert heads <= set(state)
    converted = convert_state_for_model(model, state, 'backbone.', source='unilm vqa')
    missing, unexpected = model.load_state_dict(converted, strict=False)
    assert (missing, unexpected) == ([], [])
    torch.testing.assert_close(model.head[3].weight, state['head.3.weight'])


def _nlvr2(kind: str):
    torch.manual_seed(0)
    backbone = tiny_backbone(kind) if kind == 'beit3' else tiny_backbone(kind, num_token_types=3)
    model = MODELS.build(dict(type='beitmm.NLVR2Classifier', backbone=backbone,
                              tokenizer=tiny_tokenizer('spm' if kind == 'beit3' else 'wordpiece'), max_text_len=12))
    model.init_weights()
    return model.eval()


def test_nlvr2_beit3_concatenates_both_pairs_in_unilms_order():
    """[img cls_a, text_a, img cls_b, text_b] from two separate passes equals the batched [img_a; img_b] pass."""
    model = _nlvr2('beit3')
    pairs = torch.randn(2, 2, 3, 32, 32)
    texts = ['both images have a red shape', 'the left image has more shapes']
    ids, pad = model.tokenize(texts)
    feats = []
    for k in range(2):
        h = model.backbone(image=pairs[:, k], text=ids, text_padding_mask=pad)[-1]
        feats += [h[:, 0], h[:, 5]]  # image cls, first text token (1 + 2 x 2 patches later)
    expected = model.head(torch.cat(feats, dim=-1))
    torch.testing.assert_close(model.logits(pairs, texts), expected)
    assert model.head.dense2.weight.abs().max() < 0.02 * 2 * 1e-3 + 1e-9  # unilm's init scale 0.001


def test_nlvr2_vlmo_uses_token_types_1_and_2():
    model = _nlvr2('vlmo')
    pairs = torch.randn(2, 2, 3, 32, 32)
    texts = ['both images have a red shape', 'one shape']
    ids, pad = model.tokenize(texts)
    pooled = [model.pooler(model.backbone(image=pairs[:, k], text=ids, text_padding_mask=pad,
                                          image_token_type=k + 1)[-1][:, 0]) for k in range(2)]
    torch.testing.assert_close(model.logits(pairs, texts), model.nlvr2_classifier(torch.cat(pooled, -1)))
    with pytest.raises(ValueError, match='num_token_types=3'):
        MODELS.build(dict(type='beitmm.NLVR2Classifier', backbone=tiny_backbone('vlmo'),
                          tokenizer=tiny_tokenizer('wordpiece')))


def test_nlvr2_needs_two_images_and_predicts_for_accuracy():
    model = _nlvr2('beit3')
    with pytest.raises(ValueError, match=r'two images per statement \[B, 2, 3, H, W\]'):
        model.logits(torch.randn(2, 3, 32, 32), ['a', 'b'])
    out = model(torch.randn(2, 2, 3, 32, 32), [DataSample(text='a', gt_label=1), DataSample(text='b', gt_label=0)],
                mode='predict')
    assert out[0].pred_score.shape == (2, ) and abs(out[0].pred_score.sum().item() - 1) < 1e-6


def test_official_vlmo_vqa_checkpoint_loads_by_copy():
    """VLMo-layout keys (``transformer.*``, ``pooler.dense``, ``vqa_classifier.{0,1,3}``) fill the VQA model."""
    model = _vqa('vlmo')
    state = {k.replace('backbone.', '', 1): v.clone() + 1 for k, v in model.state_dict().items()}
    assert {'pooler.dense.weight', 'vqa_classifier.0.weight', 'vqa_classifier.3.weight',
            'transformer.blocks.0.attn.qkv.weight'} <= set(state)
    converted = convert_state_for_model(model, {'state_dict': state}['state_dict'], 'backbone.', source='vlmo vqa')
    missing, unexpected = model.load_state_dict(converted, strict=False)
    assert (missing, unexpected) == ([], [])
    torch.testing.assert_close(model.vqa_classifier[3].weight, state['vqa_classifier.3.weight'])
