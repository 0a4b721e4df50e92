"""Every shipped config: every ``type=`` resolves where it will be built, and every pipeline loads images robustly."""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from beitmm.testing.shrink import ROOT

from .resolve_config_types import resolve, types

CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True) if '_base_' not in p)
SCRIPT = osp.join(osp.dirname(osp.abspath(__file__)), 'resolve_config_types.py')


def test_every_type_of_every_config_resolves_in_a_fresh_interpreter():
    proc = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith('RESULT '))[7:])
    assert result['configs'] == len(CONFIGS) and result['types'] > 20 * len(CONFIGS)
    assert result['problems'] == [], '\n'.join(' | '.join(p) for p in result['problems'])


def test_the_resolver_catches_a_type_the_build_would_not_find():
    cfg = Config(dict(default_scope='mmseg', custom_imports=dict(imports=['beitmm']),
                      model=dict(type='EncoderDecoder', backbone=dict(type='beitmm.BEiT'),
                                 decode_head=dict(type='MIMHead')),  # beitmm's, but unscoped under mmseg
                      train_dataloader=dict(dataset=dict(pipeline=[dict(type='BlockwiseMaskGenerator')]))))
    count, problems = resolve(cfg)
    assert count == 4
    assert sorted((p[0], p[1]) for p in problems) == [
        ('model.decode_head', 'MIMHead'), ('train_dataloader.dataset.pipeline[0]', 'BlockwiseMaskGenerator')]


def _pipelines(cfg: Config):
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if not loader:
            continue
        for path, name in types(loader.to_dict() if hasattr(loader, 'to_dict') else loader, key):
            yield key, path, name


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(p, osp.join(ROOT, 'configs')) for p in CONFIGS])
def test_every_pipeline_handles_corrupt_images(path):
    """Training pipelines skip (warn, count) corrupt images; evaluation pipelines stop naming the file."""
    cfg = Config.fromfile(path)
    loaders = [(key, p, name) for key, p, name in _pipelines(cfg) if name.rpartition('.')[2].startswith('Load')
               and 'Image' in name]
    plain = [(p, name) for _, p, name in loaders if not name.endswith('RobustLoadImageFromFile')]
    assert not plain, f'image loaders without corrupt-image handling: {plain}'
    for key, p, _ in loaders:
        step = eval_path(cfg, p)
        expected = 'skip' if key == 'train_dataloader' else 'error'
        assert step.get('on_corrupt', 'error') == expected, f'{p}: on_corrupt should be {expected!r}'


def eval_path(cfg: Config, path: str) -> dict:
    """The config node at a key path like ``train_dataloader.dataset.pipeline[0]``."""
    node = cfg.to_dict()
    for part in path.replace('[', '.[').split('.'):
        node = node[int(part[1:-1])] if part.startswith('[') else node[part]
    return node


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(p, osp.join(ROOT, 'configs')) for p in CONFIGS])
def test_every_config_states_what_runs(path):
    """Issue 30: loops, samplers, hooks and the AMP wrapper are in the config; build_runner adds none of them."""
    from beitmm.engine.runner import _make_reliable, is_beitmm_config
    cfg = Config.fromfile(path)
    assert is_beitmm_config(cfg)
    assert _make_reliable(cfg.copy()) == []  # what a foreign config would get: nothing missing here
    assert cfg.train_cfg.type in ('beitmm.ResumableEpochBasedTrainLoop', 'beitmm.ResumableIterBasedTrainLoop')
    assert cfg.train_dataloader.sampler.type in (  # the others have no resumable version
        'beitmm.ResumableSampler', 'beitmm.ResumableInfiniteSampler', 'beitmm.MultiSourceStepSampler',
        'RepeatAugSampler')
    hooks = [h['type'] for h in cfg.default_hooks.values() if h] + [h['type'] for h in cfg.get('custom_hooks', [])]
    for name in ('ResumeStateHook', 'NonFiniteLossHook', 'DataHealthHook'):
        assert hooks.count(f'beitmm.{name}') == 1, name
    assert cfg.optim_wrapper.get('type', 'OptimWrapper') in ('OptimWrapper', 'beitmm.AmpOptimWrapper')
