import pytest

from beitmm.engine import amp


def test_cpu_without_native_bf16_stays_fp32(monkeypatch):
    monkeypatch.setattr(amp, 'cpu_has_native_bf16', lambda: False)
    assert amp.preferred_amp_dtype('cpu') is None
    base = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))
    with pytest.warns(UserWarning, match='stays in fp32'):
        assert amp.amp_optim_wrapper(base, 'cpu') == base


def test_cpu_with_native_bf16_uses_bf16(monkeypatch):
    monkeypatch.setattr(amp, 'cpu_has_native_bf16', lambda: True)
    cfg = amp.amp_optim_wrapper(dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3)), 'cpu')
    assert cfg['type'] == 'beitmm.AmpOptimWrapper' and cfg['dtype'] == 'bfloat16' and 'loss_scale' not in cfg


def test_explicit_amp_config_is_kept():
    cfg = dict(type='AmpOptimWrapper', dtype='float16', optimizer=dict(type='SGD', lr=0.1))
    assert amp.amp_optim_wrapper(cfg, 'cpu') == cfg
