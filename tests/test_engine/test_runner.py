"""build_runner: the config changes it makes are logged, num_workers=0 works, broken imports surface as ImportError."""
import sys

import pytest
from mmengine.config import Config

from beitmm.engine.config_check import check_config_types
from beitmm.engine.runner import build_runner
from beitmm.testing.shrink import config_path, tiny_cls_config


def test_config_changes_are_logged_and_num_workers_zero_needs_no_persistent_workers(imagenet_info, tmp_path, caplog):
    cfg = tiny_cls_config(config_path('beit/beit-b_in1k.py'), imagenet_info['root'], str(tmp_path),
                          num_classes=len(imagenet_info['classes']))
    cfg.train_dataloader.update(num_workers=0, persistent_workers=True)  # --cfg-options train_dataloader.num_workers=0
    with pytest.warns(UserWarning, match='persistent_workers=True needs num_workers > 0'):
        runner = build_runner(cfg)
    assert runner.cfg.train_dataloader.persistent_workers is False
    assert runner.cfg.train_cfg.type == 'beitmm.ResumableEpochBasedTrainLoop'
    with open(runner.logger.log_file) as f:
        log = f.read()
    assert 'build_runner changed the config' in log
    for line in ('train_cfg.type: ', '-> beitmm.ResumableEpochBasedTrainLoop (exact resume)',
                 'train_dataloader.sampler.type: DefaultSampler -> beitmm.ResumableSampler',
                 'custom_hooks: + beitmm.NonFiniteLossHook',
                 'train_dataloader.persistent_workers: True -> False'):
        assert line in log, line
    runner.train()  # would stop with "persistent_workers option needs num_workers > 0" otherwise


def test_a_broken_plugin_import_is_reported_as_an_import_error(tmp_path, monkeypatch):
    pkg = tmp_path / 'brokenplugin'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'registry.py').write_text(
        "from mmengine.registry import MODELS as ROOT, Registry\n"
        "MODELS = Registry('model', parent=ROOT, scope='brokenplugin', locations=['brokenplugin.models'])\n")
    (pkg / 'models.py').write_text('import a_module_that_does_not_exist  # the real error\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config(dict(model=dict(type='brokenplugin.Something')))
    try:
        with pytest.raises(ImportError, match=r"brokenplugin\.models.*failed to import.*a_module_that_does_not_exist"):
            check_config_types(cfg)
    finally:  # leave no trace in mmengine's registry tree for later tests
        from mmengine.registry import MODELS
        MODELS._children.pop('brokenplugin', None)
        for name in [m for m in sys.modules if m.startswith('brokenplugin')]:
            del sys.modules[name]


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
