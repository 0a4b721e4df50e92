"""plot_electra_curves.py: reads mmengine scalars.json of several runs, skips validation records, writes a PNG."""
import importlib.util
import json
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('plot_electra_curves',
                                                  osp.join(ROOT, 'tools', 'analysis_tools', 'plot_electra_curves.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(root, rates, hardness: bool):
    vis = root / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = []
    for i, r in enumerate(rates, start=1):
        rec = dict(lr=1e-3, step=10 * i, resample_correct=r, disc_replaced=1.0, disc_kept=0.1)
        if hardness:
            rec['hardness_err'] = 0.5
        lines.append(json.dumps(rec))
    lines.append(json.dumps({'accuracy/top1': 50.0, 'step': 30}))  # a validation record: no lr
    (vis / 'scalars.json').write_text('\n'.join(lines) + '\n')
    return str(root)


def test_reads_runs_and_writes_the_png(tool, tmp_path):
    plain = _run(tmp_path / 'plain', [0.1, 0.2, 0.3], False)
    hard = _run(tmp_path / 'hard', [0.1, 0.15, 0.2], True)
    curves = tool.read_curves(plain)
    assert curves['resample_correct'] == ([10, 20, 30], [0.1, 0.2, 0.3]) and 'accuracy/top1' not in curves
    assert tool.smooth([1., 3., 5.], 2) == [1., 2., 4.]
    assert tool.parse_run(f'plain={plain}') == ('plain', plain)
    out = tool.plot([('plain', plain), ('hardness', hard)], str(tmp_path / 'c.png'), window=2)
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        tool.read_curves(str(tmp_path / 'nothing'))
