"""The README's Python examples run as written, at tiny size.

Each block marked ``<!-- example: NAME -->`` runs unchanged in a temporary folder that holds tiny stand-ins for
every file it names: the configs it reads (the shipped config, shrunk by ``beitmm.testing``), the checkpoints
(saved from the tiny model), ``demo.jpg`` and the tokenizer. ``SIZE`` lists the only text replaced in a block (a
preset name given in the code rather than by a config).
"""
import os
import os.path as osp
import re
import shutil
from typing import Callable, Dict

import numpy as np
import pytest
import torch
from mmengine.config import Config

from beitmm.testing.shrink import ROOT, config_path

EXAMPLE = re.compile(r'<!-- example: (\w+) -->\n```python\n(.*?)\n```', re.S)
ZOO_FILE = 'pretrain/beit_base_patch16_224_pt22k_ft22kto1k.pth'
SIZE = {'multiway': [("arch='base'", "arch='tiny'")],
        'zoo': [(f"checkpoint='{ZOO_FILE}')", f"checkpoint='{ZOO_FILE}', **{{'model.backbone.arch': 'tiny'}})")]}


def readme_examples() -> Dict[str, str]:
    """``{name: code}`` of the README's marked Python blocks."""
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        return dict(EXAMPLE.findall(f.read()))


def _image(path: str, size: int = 48) -> None:
    import mmcv
    mmcv.imwrite((np.random.default_rng(0).random((size, size + 8, 3)) * 255).astype(np.uint8), path)


def _config(rel: str, shrink: Callable[[Config], Config]) -> None:
    """Write the shipped ``configs/<rel>``, shrunk, to the same relative path of the working folder."""
    cfg = shrink(Config.fromfile(config_path(rel)))
    os.makedirs(osp.dirname(osp.join('configs', rel)), exist_ok=True)
    cfg.dump(osp.join('configs', rel))


def _checkpoint(rel: str, path: str, **meta) -> None:
    """Save the tiny model of ``configs/<rel>`` (the working folder's) as a beitmm checkpoint at ``path``."""
    from beitmm.apis import init_model
    torch.manual_seed(0)
    model = init_model(osp.join('configs', rel))
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=meta)), path)


def _vision(tmp: str) -> None:
    from beitmm.testing.shrink import tiny_cls_config, tiny_seg_config
    _config('beit/beit-b_in1k.py', lambda c: tiny_cls_config(config_path('beit/beit-b_in1k.py'), tmp, tmp, 4))
    _config('beit/upernet_beit-b_ade20k.py',
            lambda c: tiny_seg_config(config_path('beit/upernet_beit-b_ade20k.py'), tmp, tmp))
    _checkpoint('beit/beit-b_in1k.py', 'work_dirs/beit-b_in1k/epoch_100.pth', classes=list('abcd'))
    _checkpoint('beit/upernet_beit-b_ade20k.py', 'work_dirs/upernet_beit-b_ade20k/iter_160000.pth')


def _multiway(tmp: str) -> None:
    from beitmm.registry import MODELS
    from beitmm.testing.vl import tiny_tokenizer_files
    os.makedirs('pretrain')
    os.makedirs('data/beit3')
    shutil.copy(tiny_tokenizer_files()['spm'], 'data/beit3/beit3.spm')
    torch.save(MODELS.build(dict(type='beitmm.BEiT3', arch='tiny')).state_dict(), 'pretrain/beit3_base_patch16_224.pth')


def _vl(tmp: str) -> None:
    from beitmm.testing.vl import TINY_BEIT3, shrink_vl_config

    def tiny(cfg: Config) -> Config:
        cfg.model.backbone.arch = dict(TINY_BEIT3)  # 2 layers x 32
        return shrink_vl_config(cfg, tmp, tmp)

    answers = [f'answer {i}' for i in range(3129)]
    for name, epoch, meta in (('vqav2', 10, dict(answers=answers)), ('coco-captioning', 10, {}),
                              ('coco-retrieval', 15, {})):
        rel = f'beit3/beit3-b_{name}.py'
        _config(rel, tiny)
        _checkpoint(rel, f'work_dirs/beit3-b_{name}/epoch_{epoch}.pth', **meta)


def _s2s(tmp: str) -> None:
    from beitmm.testing.vl import shrink_s2s_config
    rel = 's2s/s2s-ft-pseudo-masked_unilm1.2-b_xsum.py'
    _config(rel, lambda c: shrink_s2s_config(c, tmp, tmp))
    _checkpoint(rel, 'work_dirs/s2s-ft-pseudo-masked_unilm1.2-b_xsum/iter_32000.pth')


def _electra(tmp: str) -> None:
    from beitmm.testing.electra import shrink_electra_config
    _config('electra/electra-small_hardness_text.py', lambda c: shrink_electra_config(c, tmp, tmp))


def _the_x(tmp: str) -> None:
    from beitmm.models.algorithms import THEXDistiller
    rel = 'demo/the-x_beit-tiny_demo-stage2_cls.py'
    _config(rel, lambda c: c)  # the THE-X configs are demo-sized already
    from mmengine.registry import init_default_scope
    full = Config.fromfile(osp.join('configs', rel))
    init_default_scope(full.default_scope)
    cfg = dict(full.model)
    cfg.pop('type')
    cfg.pop('data_preprocessor', None)
    os.makedirs('work_dirs/the-x_beit-tiny_demo-stage2_cls')
    torch.manual_seed(0)
    torch.save(dict(state_dict=THEXDistiller(**cfg).state_dict()),
               'work_dirs/the-x_beit-tiny_demo-stage2_cls/epoch_10.pth')


def _zoo(tmp: str) -> None:
    """The official fine-tuned file's layout (unilm's ``model`` dict) at tiny width."""
    import beitmm
    torch.manual_seed(0)
    model = beitmm.get_model('beit-base-pt22k-ft22k_in1k', **{'model.backbone.arch': 'tiny'})
    state = {k.replace('backbone.', '', 1).replace('head.fc.', 'head.'): v for k, v in model.state_dict().items()}
    os.makedirs('pretrain')
    torch.save(dict(model=state), ZOO_FILE)


SETUP = dict(vision=_vision, multiway=_multiway, vl=_vl, s2s=_s2s, electra=_electra, the_x=_the_x, zoo=_zoo)


def test_every_example_has_a_setup():
    assert sorted(readme_examples()) == sorted(SETUP)


@pytest.mark.parametrize('name', sorted(SETUP))
def test_readme_example_runs(name, tmp_path, monkeypatch, capsys):
    if name == 'the_x':
        pytest.importorskip('tenseal', reason='encrypted inference needs requirements/he.txt')
    code = readme_examples()[name]
    for old, new in SIZE.get(name, []):
        assert code.count(old) == 1, f'{name}: {old!r} is not in the example once'
        code = code.replace(old, new)
    monkeypatch.chdir(tmp_path)
    _image('demo.jpg')
    SETUP[name](str(tmp_path))
    exec(compile(code, f'README.md example {name}', 'exec'), {'__name__': f'readme_{name}'})
    printed = capsys.readouterr().out
    assert name in ('multiway', ) or printed.strip(), 'the example printed nothing'
