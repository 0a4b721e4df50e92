"""beitmm.CaptionMetric against pycocoevalcap's own tokenizer and scorers called directly (needs Java)."""
import json
import shutil
import subprocess

import pytest
from mmengine.evaluator import Evaluator

from beitmm.evaluation.metrics import caption_metric
from beitmm.registry import METRICS

pytestmark = pytest.mark.skipif(shutil.which('java') is None, reason='pycocoevalcap needs Java')

REFS = {
    391895: ['A man riding a bike down a dirt road.', 'A person rides a bicycle on a trail, in the woods.'],
    522418: ['A woman cutting a large white sheet cake.', "A lady cuts the cake at a friend's party!"],
    184613: ['Two dogs play with a red ball on the grass.', 'Dogs (two of them) playing in a park.'],
}
PREDS = {391895: 'a man riding a bike on a dirt road', 522418: 'a woman cutting a cake',
         184613: 'two dogs playing with a ball'}


def _samples(preds: dict, with_refs: bool = True) -> list:
    return [dict(image_id=k, pred_caption=v, **({'gt_caption': REFS[k]} if with_refs else {}))
            for k, v in preds.items()]


def _run(cfg: dict, samples: list) -> dict:
    evaluator = Evaluator(METRICS.build(dict(type='beitmm.CaptionMetric', **cfg)))
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def test_perfect_predictions_reach_every_maximum(monkeypatch):
    monkeypatch.setattr(caption_metric, 'spice_jars_present', lambda: False)
    metrics = _run({}, [dict(image_id=k, pred_caption=v[0], gt_caption=[v[0]]) for k, v in REFS.items()])
    assert sorted(metrics) == sorted(f'caption/{k}' for k in ('Bleu_1', 'Bleu_2', 'Bleu_3', 'Bleu_4', 'METEOR',
                                                             'ROUGE_L', 'CIDEr'))  # no SPICE key without jars
    for n in range(1, 5):  # pycocoevalcap's BLEU smoothing leaves ~1e-8 below 100
        assert metrics[f'caption/Bleu_{n}'] == pytest.approx(100.0, abs=1e-5)
    assert metrics['caption/METEOR'] == pytest.approx(100.0)
    assert metrics['caption/ROUGE_L'] == pytest.approx(100.0)
    assert metrics['caption/CIDEr'] == pytest.approx(1000.0)  # CIDEr's maximum is 10, reported x100


def test_scores_equal_pycocoevalcap_scorers_called_directly():
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    tok = PTBTokenizer()
    gts = tok.tokenize({k: [{'caption': c} for c in v] for k, v in REFS.items()})
    res = tok.tokenize({k: [{'caption': v}] for k, v in PREDS.items()})
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    expected = {f'caption/Bleu_{n + 1}': 100 * b for n, b in enumerate(bleu)}
    expected['caption/ROUGE_L'] = 100 * Rouge().compute_score(gts, res)[0]
    expected['caption/CIDEr'] = 100 * Cider().compute_score(gts, res)[0]
    metrics = _run(dict(scorers=('Bleu', 'ROUGE_L', 'CIDEr')), _samples(PREDS))
    assert metrics.keys() == expected.keys()
    for k, v in expected.items():
        assert metrics[k] == pytest.approx(v, rel=1e-12), k
    assert 10 < metrics['caption/CIDEr'] < 1000 and 0 < metrics['caption/Bleu_4'] < 100


def test_ptb_tokenize_equals_pycocoevalcap_tokenizer():
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    caps = {1: ["A man's bike -- (red), isn't it?", ''], 2: ['Café "au lait"...\nsecond line'], 'x': ['U.S. 3.5 km!']}
    expected = PTBTokenizer().tokenize({k: [{'caption': c} for c in v] for k, v in caps.items()})
    assert caption_metric.ptb_tokenize(caps) == expected


def test_references_from_local_files(tmp_path):
    coco = tmp_path / 'coco_karpathy_test_gt.json'
    coco.write_text(json.dumps({'images': [{'id': k} for k in REFS], 'annotations': [
        dict(image_id=k, caption=c, id=i) for i, (k, v) in enumerate(REFS.items()) for c in v]}))
    karpathy = tmp_path / 'dataset_coco.json'
    karpathy.write_text(json.dumps({'images': [
        dict(cocoid=k, imgid=i, split='test', filename=f'{k}.jpg', sentences=[dict(raw=c) for c in v])
        for i, (k, v) in enumerate(REFS.items())] + [dict(cocoid=1, imgid=9, split='train', sentences=[])]}))
    from_samples = _run(dict(scorers=('Bleu', 'CIDEr')), _samples(PREDS))
    # the samples carry no references here: they come from the files
    for cfg in (dict(ann_file=str(coco)), dict(ann_file=str(karpathy), split='test')):
        assert _run(dict(scorers=('Bleu', 'CIDEr'), **cfg), _samples(PREDS, with_refs=False)) == from_samples
    with pytest.raises(ValueError, match='not in .*coco_karpathy_test_gt.json.*wrong split'):
        _run(dict(ann_file=str(coco), scorers=('Bleu', )), [dict(image_id=7, pred_caption='a cat')])
    with pytest.raises(ValueError, match='set split'):
        _run(dict(ann_file=str(karpathy), scorers=('Bleu', )), _samples(PREDS, with_refs=False))
    with pytest.raises(FileNotFoundError, match='never'):
        METRICS.build(dict(type='beitmm.CaptionMetric', ann_file=str(tmp_path / 'missing.json')))


def test_duplicates_and_empty_captions_are_counted_not_fatal(monkeypatch):
    logged = []
    monkeypatch.setattr(caption_metric, 'print_log', lambda msg, **kw: logged.append(msg))
    samples = _samples(PREDS) + _samples({391895: 'something else entirely'})
    samples[1]['pred_caption'] = ''
    samples[2]['gt_caption'] = REFS[184613] + ['  ']
    metrics = _run(dict(scorers=('Bleu', 'CIDEr')), samples)
    assert any('1 duplicated image ids' in m for m in logged)
    assert any('1 empty predicted captions' in m and '1 empty reference captions' in m for m in logged)
    assert 0 < metrics['caption/CIDEr'] < 1000
    with pytest.raises(KeyError, match='no gt_caption'):
        _run({}, [dict(image_id=1, pred_caption='a')])
    with pytest.raises(KeyError, match='image_id and pred_caption'):
        _run({}, [dict(image_id=1, gt_caption=['a'])])


def test_spice_is_skipped_with_one_warning_or_when_its_java_side_fails(monkeypatch):
    logged = []
    monkeypatch.setattr(caption_metric, 'print_log', lambda msg, **kw: logged.append(msg))
    monkeypatch.setattr(caption_metric, '_SPICE_WARNED', [])
    monkeypatch.setattr(caption_metric, 'spice_jars_present', lambda: False)
    for _ in range(2):
        assert 'caption/SPICE' not in _run(dict(scorers=('Bleu', 'SPICE')), _samples(PREDS))
    assert len([m for m in logged if 'SPICE skipped' in m and 'stanford-corenlp-3.6.0' in m]) == 1

    class BrokenSpice:
        def compute_score(self, gts, res):
            raise subprocess.CalledProcessError(1, ['java', '-jar', 'spice-1.0.jar'])

    import pycocoevalcap.spice.spice as spice_module
    monkeypatch.setattr(caption_metric, 'spice_jars_present', lambda: True)
    monkeypatch.setattr(spice_module, 'Spice', BrokenSpice)
    metrics = _run(dict(scorers=('Bleu', 'SPICE')), _samples(PREDS))
    assert 'caption/SPICE' not in metrics and 'caption/Bleu_4' in metrics
    assert any('SPICE failed' in m for m in logged)


def test_file_path_writes_predictions_and_a_split_without_references_is_only_written(tmp_path):
    """The prediction file of unilm ``[{"image_id", "caption"}]`` (engine_for_finetuning.py:429-433), e.g. NoCaps."""
    path = tmp_path / 'out' / 'nocaps_test_predictions.json'
    assert _run(dict(file_path=str(path)), _samples(PREDS, with_refs=False)) == {}
    assert json.loads(path.read_text()) == [dict(image_id=k, caption=v) for k, v in PREDS.items()]
    scored = _run(dict(file_path=str(path), scorers=('CIDEr', )), _samples(PREDS))  # val: scored and written
    assert set(scored) == {'caption/CIDEr'} and len(json.loads(path.read_text())) == 3
    with pytest.raises(KeyError, match='no gt_caption and no ann_file'):
        _run({}, _samples(PREDS, with_refs=False))
    mixed = _samples(PREDS)[:2] + _samples(PREDS, with_refs=False)[2:]
    with pytest.raises(KeyError, match='mixed split'):
        _run(dict(file_path=str(path)), mixed)
    with pytest.raises(ValueError, match='.json'):
        METRICS.build(dict(type='beitmm.CaptionMetric', file_path=str(tmp_path / 'x.txt')))
