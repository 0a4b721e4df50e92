"""beitmm.testing.shrink finds configs/ in the checkout, in $BEITMM_CONFIGS, or says why it cannot."""
import os.path as osp
import shutil

import pytest

from beitmm.testing import shrink


def test_configs_come_from_the_checkout_by_default(monkeypatch):
    monkeypatch.delenv('BEITMM_CONFIGS', raising=False)
    path = shrink.config_path('beit/beit-b_in1k.py')
    assert path == osp.join(shrink.ROOT, 'configs', 'beit', 'beit-b_in1k.py') and osp.isfile(path)


def test_configs_folder_from_the_environment_or_an_argument(tmp_path, monkeypatch):
    copy = tmp_path / 'my_configs'
    shutil.copytree(osp.join(shrink.ROOT, 'configs', '_base_'), copy / '_base_')
    monkeypatch.setenv('BEITMM_CONFIGS', str(copy))
    assert shrink.config_path('beit/x.py') == str(copy / 'beit' / 'x.py')
    monkeypatch.delenv('BEITMM_CONFIGS')
    assert shrink.config_path('beit/x.py', configs=str(copy)) == str(copy / 'beit' / 'x.py')


def test_outside_a_checkout_the_error_says_what_to_do(tmp_path, monkeypatch):
    """An installed package without the repository (ROOT has no configs/) fails with a clear message."""
    monkeypatch.setattr(shrink, 'ROOT', str(tmp_path / 'site-packages'))
    monkeypatch.delenv('BEITMM_CONFIGS', raising=False)
    with pytest.raises(FileNotFoundError, match=r'BEITMM_CONFIGS.*configs/ folder|checkout of the repository'):
        shrink.config_path('beit/beit-b_in1k.py')
    monkeypatch.setenv('BEITMM_CONFIGS', str(tmp_path))  # a folder that is not a configs/ either
    with pytest.raises(FileNotFoundError, match='no _base_/ in it'):
        shrink.tiny_cls_config(shrink.config_path('beit/beit-b_in1k.py'), str(tmp_path), str(tmp_path), 4)
