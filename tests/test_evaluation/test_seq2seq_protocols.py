"""The official s2s-ft / UniLM v1 evaluation protocols of Seq2SeqMetric on tiny inputs.

References: hand-worked outputs of ``fix_tokenization`` (``unilm-v1/src/qg/eval.py``,
``s2s-ft/evaluations/eval_for_{cnndm,xsum}.py``), ``pycocoevalcap`` called on references grouped by hand, and
hand-computed ROUGE.
"""
from unittest import mock

import pytest

from beitmm.evaluation.metrics.s2s_protocols import fix_tokenization, qg_scores, summary_prediction, summary_rouge
from beitmm.registry import METRICS


@pytest.mark.parametrize('variant,text,expected', [
    ('qg', 'he said " hi ( there ) " , don \' t go', "he said `` hi -lrb- there -rrb- '' , do n't go"),
    ('qg', "the cat ' s $ 3 , 000 and 3 . 03 [UNK] & u", "the cat 's $ 3,000 and 3.03 UNK &amp; u"),
    ('qg', 'a well - known . . . U . N . x', 'a well-known ... U.N. . x'),  # the U.N. rule steps 2 tokens
    ('cnndm', 'a ( b ) \' c \' state - of - the - art', "a -LRB- b -RRB- ` c ' state-of-the-art"),
    ('xsum', 'a " b " - c it \' ll ( d', 'a " b " - c it \'ll ( d'),
])
def test_fix_tokenization_by_hand(variant, text, expected):
    assert fix_tokenization(text, variant) == expected


def test_summary_prediction_cnndm_and_xsum():
    pred = 'the cat sat on the mat . [X_SEP] it ran . [X_SEP] the cat sat on the mat today . [X_SEP] ' \
           'a dog ( big ) barked at night'
    # <= 4 tokens dropped; the third shares 6/7 of its words with the first (> 0.7): dropped; -LRB- spaced
    first, last = 'the cat sat on the mat .', 'a dog -LRB- big -RRB- barked at night'
    assert summary_prediction(pred, 'cnndm') == [first, last]
    assert summary_prediction(pred, 'cnndm', trunc_len=9) == ['the cat sat on the mat .', 'a dog']
    assert summary_prediction('a ( b ) [X_SEP] c', 'xsum') == ['a -LRB- b -RRB- [X_SEP] c']


def test_summary_rouge_by_hand():
    gold = 'the cat sat on the mat . <S_SEP> it ran away'
    pred = 'the cat sat on the mat . [X_SEP] it ran away from home'
    # the gold's <S_SEP> is a sentence break (not the words "s sep"): 9 gold words, 11 predicted, all 9 found;
    # bigrams 8 of 10 (mat-it joins the sentences); the union LCS of each gold sentence: 6 + 3
    assert summary_rouge([pred], [gold], 'cnndm') == pytest.approx(
        dict(rouge1=100 * 0.9, rouge2=100 * 2 * 0.8 / 1.8, rougeL=100 * 0.9))  # F1 of P 9/11, R 1: 0.9
    # XSum: one sentence, no break; 'cats' stems to 'cat'; R1: P = 2/3, R = 2/2
    scores = summary_rouge(['two cats here'], ['two cat'], 'xsum')
    assert scores['rouge1'] == pytest.approx(100 * 2 * (2 / 3) / (2 / 3 + 1))
    assert scores['rouge2'] == pytest.approx(100 * 2 * (1 / 2) / (1 / 2 + 1))


class FakeMeteor:
    """Stands in for the Java METEOR of pycocoevalcap (run in test_seq2seq_metric.py): records its input."""
    seen = []

    def compute_score(self, gts, res):
        FakeMeteor.seen.append((gts, res))
        return 0.25, []


def test_qg_groups_references_by_source_and_lowercases():
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.rouge.rouge import Rouge
    preds = ['What is the Cat ?', 'where did it go ?', 'who ran away ?']
    refs = ['what is the cat ##s name ?', 'what is the cat ?', 'who ran ?']
    srcs = ['The cat [SEP] Tom', 'the cat [SEP] tom', 'a dog [SEP] ran']  # 1 and 2: one lower-cased source
    with mock.patch('pycocoevalcap.meteor.meteor.Meteor', FakeMeteor):
        got = qg_scores(preds, refs, srcs, 'qg')
    gts = {'the cat [sep] tom': ['what is the cats name ?', 'what is the cat ?'], 'a dog [sep] ran': ['who ran ?']}
    res = {'the cat [sep] tom': ['where did it go ?'], 'a dog [sep] ran': ['who ran away ?']}  # last of a group
    assert FakeMeteor.seen[-1] == (gts, res) and got['meteor'] == 25.0
    assert got['bleu4'] == pytest.approx(100 * Bleu(4).compute_score(gts, res, verbose=0)[0][3])
    assert got['rougeL'] == pytest.approx(100 * Rouge().compute_score(gts, res)[0])
    # 'qg-du': references as given, predictions through fix_tokenization, lower-cased
    with mock.patch('pycocoevalcap.meteor.meteor.Meteor', FakeMeteor):
        du = qg_scores(["Don ' t stop now ?"], ["do n't stop now ?"], ['x'], 'qg-du')
    assert FakeMeteor.seen[-1] == ({'x': ["do n't stop now ?"]}, {'x': ["do n't stop now ?"]})
    assert du['rougeL'] == pytest.approx(100.0) and du['bleu4'] == pytest.approx(100.0, abs=1e-4)


def test_metric_protocol_option_and_bad_value():
    metric = METRICS.build(dict(type='beitmm.Seq2SeqMetric', protocol='xsum'))
    metric.process(None, [dict(line=0, pred_text='two cats here', tgt='two cat')])
    assert metric.evaluate(1)['s2s/rouge1'] == pytest.approx(80.0)
    with pytest.raises(ValueError, match='protocol must be None or one of'):
        METRICS.build(dict(type='beitmm.Seq2SeqMetric', protocol='bleu'))
    qg = METRICS.build(dict(type='beitmm.Seq2SeqMetric', protocol='qg'))
    with pytest.raises(KeyError, match="protocol 'qg' needs src"):
        qg.process(None, [dict(line=0, pred_text='a', tgt='a')])
