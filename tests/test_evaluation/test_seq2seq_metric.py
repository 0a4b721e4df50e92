"""beitmm.Seq2SeqMetric: ROUGE / BLEU worked out by hand and against rouge_score / sacrebleu called directly.

Also the prediction file, the split-size checks and the copy-the-source baseline.
"""
import pytest
import sacrebleu
from mmengine.evaluator import Evaluator
from rouge_score import rouge_scorer

from beitmm.evaluation.metrics import copy_source_scores, seq2seq_scores
from beitmm.registry import METRICS


def _run(cfg: dict, samples: list) -> dict:
    evaluator = Evaluator(METRICS.build(dict(type='beitmm.Seq2SeqMetric', **cfg)))
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def test_rouge_by_hand():
    # pred "the cat sat down" vs ref "the cat was down":
    #   unigrams: overlap {the, cat, down} = 3; P = 3/4, R = 3/4, F1 = 0.75 -> 75.0
    #   bigrams: pred {the cat, cat sat, sat down}, ref {the cat, cat was, was down}: overlap 1; P = R = 1/3 -> 33.33
    #   LCS: the cat down = 3 -> P = R = 3/4 -> 75.0; one sentence, so rougeLsum = rougeL
    s = seq2seq_scores(['the cat sat down'], ['the cat was down'], bleu=False)
    assert s == pytest.approx(dict(rouge1=75.0, rouge2=100 / 3, rougeL=75.0, rougeLsum=75.0))
    # 2-word pred vs 4-word ref, overlap 2: P = 1, R = 1/2, F1 = 2 * 1 * 0.5 / 1.5 = 2/3
    assert seq2seq_scores(['cat down'], ['the cat was down'], rouge_types=['rouge1'], bleu=False)['rouge1'] == \
        pytest.approx(200 / 3)
    # Porter stemming (tokens longer than 3 characters): cats -> cat, running -> run; case and punctuation ignored
    assert seq2seq_scores(['Cats running!'], ['cat run'], rouge_types=['rouge1'], bleu=False)['rouge1'] == 100.0
    assert seq2seq_scores(['cats'], ['cat'], rouge_types=['rouge1'], bleu=False, use_stemmer=False)['rouge1'] == 0.0
    # corpus ROUGE = mean of the per-example F1: (75 + 0) / 2
    assert seq2seq_scores(['the cat sat down', 'x'], ['the cat was down', 'y'], bleu=False)['rouge1'] == 37.5


def test_bleu_by_hand():
    # pred "the cat sat on the mat" vs ref "the cat sat on a mat" (6 tokens each, brevity penalty 1):
    #   p1 = 5/6 (the clipped to 1), p2 = 3/5, p3 = 2/4, p4 = 1/3
    #   BLEU = (5/6 * 3/5 * 2/4 * 1/3) ** (1/4) = (1/12) ** 0.25 = 0.53728 -> 53.728
    bleu = seq2seq_scores(['the cat sat on the mat'], ['the cat sat on a mat'], rouge_types=())['bleu4']
    assert bleu == pytest.approx(100 * (1 / 12) ** 0.25)
    assert seq2seq_scores(['a b c d e'], ['a b c d e'], rouge_types=())['bleu4'] == pytest.approx(100.0)


PREDS = ['police investigate threats to kill pupils at a school .', 'a water slide opened in the city centre',
         'Partick Thistle finish in the top six .']
REFS = ['Threats to kill pupils in a shooting at a Blackpool school are being investigated by police .',
        'A slide running the length of a city centre street has been turned into a water ride .',
        'Partick Thistle will finish in the Scottish Premiership top six for the first time .']


def test_against_the_packages_directly():
    scorer = rouge_scorer.RougeScorer(['rouge1', 'rouge2', 'rougeL', 'rougeLsum'], use_stemmer=True)
    per = [scorer.score(r, p) for p, r in zip(PREDS, REFS, strict=True)]
    expected = {k: 100 * sum(s[k].fmeasure for s in per) / 3 for k in per[0]}
    expected['bleu4'] = sacrebleu.corpus_bleu(PREDS, [REFS]).score
    assert seq2seq_scores(PREDS, REFS) == pytest.approx(expected)


def test_rouge_lsum_splits_at_sentence_markers():
    # CNN/DM: several sentences, written by s2s-ft as "[X_SEP]" (or "<n>", or newlines)
    pred, ref = 'police said . [X_SEP] a man was arrested .', 'a man was arrested . <n> police said .'
    scorer = rouge_scorer.RougeScorer(['rougeL', 'rougeLsum'], use_stemmer=True)
    direct = scorer.score('a man was arrested .\npolice said .', 'police said .\na man was arrested .')
    s = seq2seq_scores([pred], [ref], bleu=False)
    assert s['rougeLsum'] == pytest.approx(100 * direct['rougeLsum'].fmeasure) == pytest.approx(100.0)
    # rougeL over the whole text: LCS "a man was arrested" = 4 of 6 tokens each side -> 66.67
    assert s['rougeL'] == pytest.approx(100 * direct['rougeL'].fmeasure) == pytest.approx(200 / 3)
    assert s['rouge1'] == 100.0  # the markers themselves are not tokens


def _samples(preds, refs, order=None):
    order = order or range(len(preds))
    return [dict(pred_text=preds[i], tgt=refs[i], src=REFS[i], line=i) for i in order]


def test_metric_keys_and_output_file_order(tmp_path):
    out = tmp_path / 'out' / 'model.test'
    metrics = _run(dict(output_file=str(out)), _samples(PREDS, REFS, order=[2, 0, 1]))
    assert set(metrics) == {'s2s/rouge1', 's2s/rouge2', 's2s/rougeL', 's2s/rougeLsum', 's2s/bleu4'}
    assert metrics['s2s/rouge2'] == pytest.approx(seq2seq_scores(PREDS, REFS)['rouge2'])
    assert out.read_text(encoding='utf-8').split('\n') == PREDS + ['']


def test_output_newlines_and_duplicates(tmp_path):
    out = tmp_path / 'pred.txt'
    samples = [dict(pred_text='a b.\nc d.', tgt='a b. c d.', line=0), dict(pred_text='x', tgt='x', line=1),
               dict(pred_text='dup', tgt='x', line=1)]  # the sampler padded the last batch
    _run(dict(output_file=str(out), num_expected=2), samples)
    assert out.read_text(encoding='utf-8') == 'a b. [X_SEP] c d.\nx\n'


def test_ref_file_and_split_checks(tmp_path):
    ref = tmp_path / 'test.target'
    ref.write_text('\n'.join(REFS) + '\n', encoding='utf-8')
    samples = [dict(pred_text=p, line=i) for i, p in enumerate(PREDS)]
    assert _run(dict(ref_file=str(ref)), samples)['s2s/bleu4'] == pytest.approx(seq2seq_scores(PREDS, REFS)['bleu4'])
    with pytest.raises(ValueError, match=r'2 predictions .* but .*test.target has 3 lines: predictions of another'):
        _run(dict(ref_file=str(ref)), samples[:2])
    with pytest.raises(ValueError, match='3 predictions .* but num_expected is 5'):
        _run(dict(num_expected=5), _samples(PREDS, REFS))
    with pytest.raises(ValueError, match='3 predictions .* but num_expected is 3'):
        _run(dict(num_expected=3), [dict(s, line=s['line'] + 1) for s in _samples(PREDS, REFS)])
    with pytest.raises(ValueError, match='num_expected is 4 but .*test.target has 3 lines'):
        _run(dict(ref_file=str(ref), num_expected=4), samples)
    with pytest.raises(FileNotFoundError, match='ref_file .* does not exist'):
        METRICS.build(dict(type='beitmm.Seq2SeqMetric', ref_file=str(tmp_path / 'none')))


def test_copy_source_baseline():
    metrics = _run(dict(copy_source=True, rouge_types=['rouge1']), _samples(PREDS, REFS))
    assert metrics['s2s/copy_rouge1'] == 100.0 and metrics['s2s/copy_bleu4'] == pytest.approx(100.0)
    assert copy_source_scores(['the cat sat down'], ['the cat was down'], bleu=False)['rouge1'] == 75.0


def test_wordpiece_merge_and_bad_samples():
    s = _run(dict(rouge_types=['rouge1'], bleu=False), [dict(pred_text='part ##ick thistle', tgt='partick thistle',
                                                             line=0)])
    assert s['s2s/rouge1'] == 100.0
    with pytest.raises(KeyError, match='needs pred_text and line'):
        _run(dict(), [dict(pred_text='a', tgt='a')])
    with pytest.raises(KeyError, match='example 0 has no tgt and no ref_file'):
        _run(dict(), [dict(pred_text='a', line=0)])
    with pytest.raises(KeyError, match='copy_source needs src'):
        _run(dict(copy_source=True), [dict(pred_text='a', tgt='a', line=0)])
    with pytest.raises(ValueError, match='unknown rouge types'):
        METRICS.build(dict(type='beitmm.Seq2SeqMetric', rouge_types=['rougeW']))


def test_only_the_main_process_writes(tmp_path, monkeypatch):
    import mmengine.evaluator.metric as metric_module
    monkeypatch.setattr(metric_module, 'is_main_process', lambda: False)
    out = tmp_path / 'pred.txt'
    metric = METRICS.build(dict(type='beitmm.Seq2SeqMetric', output_file=str(out)))
    metric.process(None, _samples(PREDS, REFS))
    assert metric.evaluate(3) is None  # another rank: nothing computed, nothing written
    assert not out.exists()


def test_meteor_is_pycocoevalcaps_on_the_lowercased_texts():
    """The question-generation METEOR: the same as calling pycocoevalcap's METEOR 1.5 scorer on the texts."""
    from pycocoevalcap.meteor.meteor import Meteor

    from beitmm.evaluation.metrics.seq2seq_metric import seq2seq_scores
    preds, refs = ['What color is the circle ?', 'how many shapes'], ['what colour is the circle ?', 'how many shapes']
    got = seq2seq_scores(preds, refs, rouge_types=(), bleu=False, meteor=True)['meteor']
    score, _ = Meteor().compute_score({0: [refs[0].lower()], 1: [refs[1]]}, {0: [preds[0].lower()], 1: [preds[1]]})
    assert got == pytest.approx(100 * score, abs=1e-6) and 0 < got < 100
