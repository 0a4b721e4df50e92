"""build_runner: a beitmm config runs as written, machine changes are logged, broken imports surface as ImportError."""
import os
import re
import subprocess
import sys

import pytest
from mmengine.config import Config

from beitmm.engine.runner import build_runner
from beitmm.testing.shrink import config_path, tiny_cls_config


def test_a_beitmm_config_runs_as_written_and_machine_changes_are_logged(imagenet_info, tmp_path):
    path = config_path('beit/beit-b_in1k.py')
    written = Config.fromfile(path)
    cfg = tiny_cls_config(path, imagenet_info['root'], str(tmp_path), num_classes=len(imagenet_info['classes']))
    cfg.train_dataloader.update(num_workers=0, persistent_workers=True)  # --cfg-options train_dataloader.num_workers=0
    with pytest.warns(UserWarning, match='persistent_workers=True needs num_workers > 0'):
        runner = build_runner(cfg)
    assert runner.cfg.train_dataloader.persistent_workers is False
    # loops, samplers, hooks and optim wrapper: what Config.fromfile says
    assert runner.cfg.train_cfg == dict(written.train_cfg, max_epochs=1)  # tiny_cls_config: 1 epoch
    assert runner.cfg.train_cfg.type == 'beitmm.ResumableEpochBasedTrainLoop'
    assert runner.cfg.train_dataloader.sampler == written.train_dataloader.sampler
    assert runner.cfg.train_dataloader.sampler.type == 'beitmm.ResumableSampler'
    assert runner.cfg.custom_hooks == written.custom_hooks
    assert {k: h['type'] for k, h in runner.cfg.default_hooks.items()} == \
        {k: h['type'] for k, h in written.default_hooks.items()}
    assert runner.cfg.optim_wrapper.get('type') == written.optim_wrapper.get('type')
    hooks = [type(h).__name__ for h in runner.hooks]
    for name in ('ResumeStateHook', 'NonFiniteLossHook', 'DataHealthHook', 'CheckpointConvertHook',
                 'AtomicCheckpointHook'):
        assert hooks.count(name) == 1, (name, hooks)
    with open(runner.logger.log_file) as f:
        log = f.read()
    assert 'build_runner changed the config:\n  train_dataloader.persistent_workers: True -> False' in log
    for injected in ('train_cfg.type: ', 'sampler.type: ', 'custom_hooks: +', 'optim_wrapper.type: '):
        assert injected not in log, injected
    runner.train()  # would stop with "persistent_workers option needs num_workers > 0" otherwise
    assert type(runner.train_loop).__name__ == 'ResumableEpochBasedTrainLoop'


def test_a_broken_plugin_import_is_reported_as_an_import_error(tmp_path):
    pkg = tmp_path / 'brokenplugin'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'registry.py').write_text(
        "from mmengine.registry import MODELS as ROOT, Registry\n"
        "MODELS = Registry('model', parent=ROOT, scope='brokenplugin', locations=['brokenplugin.models'])\n")
    (pkg / 'models.py').write_text('import a_module_that_does_not_exist  # the real error\n')
    # in a fresh interpreter with the plugin on PYTHONPATH: nothing here edits sys.path or mmengine's registry tree
    code = ('from mmengine.config import Config\n'
            'from beitmm.engine.config_check import check_config_types\n'
            'try:\n'
            "    check_config_types(Config(dict(model=dict(type='brokenplugin.Something'))))\n"
            'except ImportError as err:\n'
            "    print('ImportError:', err)\n")
    paths = [str(tmp_path)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(paths)))
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.search(r"ImportError:.*brokenplugin\.models.*failed to import.*a_module_that_does_not_exist", out.stdout,
                     re.S), out.stdout[-2000:]


def test_runs_of_one_config_in_the_same_second_keep_their_own_scope_and_log(ade20k_root, imagenet_info, tmp_path,
                                                                             monkeypatch):
    from mmengine.registry import DefaultScope

    from beitmm.testing.shrink import tiny_seg_config
    monkeypatch.setattr('mmengine.runner.runner.time.strftime', lambda *a: '20261201_000000')  # one second
    seg = config_path('beit/upernet_beit-b_ade20k.py')
    first = build_runner(tiny_seg_config(seg, ade20k_root, str(tmp_path / 'a')))
    build_runner(tiny_cls_config(config_path('beit/beit-b_in1k.py'), imagenet_info['root'], str(tmp_path / 'b'),
                                 num_classes=len(imagenet_info['classes'])))
    assert DefaultScope.get_current_instance().scope_name == 'mmpretrain'
    second = build_runner(tiny_seg_config(seg, ade20k_root, str(tmp_path / 'c')))
    assert DefaultScope.get_current_instance().scope_name == 'mmseg'  # else mmpretrain's, and the model fails to build
    assert second.experiment_name != first.experiment_name
    assert second.logger.log_file.startswith(str(tmp_path / 'c'))
