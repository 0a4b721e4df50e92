"""CodebookHealthHook: per-epoch usage / perplexity / restarts, warnings on collapse."""
import logging
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from beitmm.engine.hooks import CodebookHealthHook
from beitmm.models.tokenizers.quantizer import NormEMAQuantizer


class _Vis:
    def __init__(self):
        self.scalars = []

    def add_scalars(self, scalars, step):
        self.scalars.append((step, scalars))


class _Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Module()
        self.tok.quantize = NormEMAQuantizer(8, 8, kmeans_init=False, dead_code_threshold=0.).eval()
        self.tok.quantize.embedding.weight.copy_(torch.eye(8))


def _runner(model, epoch=0):
    return SimpleNamespace(model=model, epoch=epoch, logger=logging.getLogger('test_codebook_health'),
                           visualizer=_Vis())


def test_hook_reports_each_epoch_and_warns_on_collapse(caplog):
    model = _Model()
    q = model.tok.quantize
    hook = CodebookHealthHook(warn_below=0.5)
    runner = _runner(model)
    hook.before_train(runner)
    q(torch.eye(8)[None])  # counts from before the epoch are discarded
    hook.before_train_epoch(runner)
    q(torch.eye(8)[[0, 1, 2, 3, 4, 5, 6, 6]][None])  # 7 of 8 codes
    with caplog.at_level(logging.INFO, logger='test_codebook_health'):
        hook.after_train_epoch(runner)
    assert 'codebook tok.quantize: used 7/8 (87.5%)' in caplog.text and 'collapsing' not in caplog.text
    assert hook.history[-1]['assignments'] == 8 and hook.history[-1]['epoch'] == 1
    assert runner.visualizer.scalars[-1][1]['codebook/tok/quantize/usage'] == pytest.approx(0.875)
    runner.epoch = 1
    hook.before_train_epoch(runner)
    q(torch.eye(8)[[0, 0, 0, 1]][None])  # 2 of 8 codes: collapse
    with caplog.at_level(logging.INFO, logger='test_codebook_health'):
        hook.after_train_epoch(runner)
    assert 'used 2/8 (25.0%)' in caplog.text
    warn = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warn) == 1 and 'only 2 of 8 codes' in warn[0].getMessage()
    entropy = -(0.75 * torch.log(torch.tensor(.75)) + 0.25 * torch.log(torch.tensor(.25)))
    assert hook.history[-1]['perplexity'] == pytest.approx(float(torch.exp(entropy)))


def test_hook_without_quantizer_warns_once(caplog):
    hook = CodebookHealthHook()
    runner = _runner(nn.Linear(2, 2))
    with caplog.at_level(logging.WARNING, logger='test_codebook_health'):
        hook.before_train(runner)
        hook.before_train_epoch(runner)
        hook.after_train_epoch(runner)
    assert 'no NormEMAQuantizer' in caplog.text and hook.history == []
    with pytest.raises(ValueError, match='fraction'):
        CodebookHealthHook(warn_below=5)
