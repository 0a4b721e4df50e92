"""tools/demo/: task dispatch, progress lines from mmengine logs, the stage runner, a tiny end-to-end vision run."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from tools.demo import progress, stages
from tools.demo import vision as vision_demo
from tools.demo.__main__ import TASKS, Task, build_parser, main, parse_args
from tools.demo.seq2seq import inventory
from tools.demo.vl import retrieval_chance

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'tools', 'demo.py')

# Real lines from the demo's logs (mmengine 0.10.7): BEiT pretraining (epoch-based, with mim_acc), the classifier's
# first epoch (two spaces before a one-digit epoch), linear-head segmentation (iteration-based, padded counter),
# the final validations of a classifier and a segmentor, and lines that are not progress.
PRETRAIN_LINE = ('12/01 08:18:18 - mmengine - INFO - Epoch(train) [10][10/62]  base_lr: 9.9199e-04 lr: 9.9199e-04  '
                 'eta: 0:02:48  time: 0.1292  data_time: 0.0301  grad_norm: 1.7440  loss: 3.7117  mim_acc: 14.9740')
CLS_LINE = ('12/01 08:36:15 - mmengine - INFO - Epoch(train)  [1][10/13]  base_lr: 7.5025e-04 lr: 7.5025e-04  '
            'eta: 0:00:27  time: 0.2258  data_time: 0.0376  loss: 1.3792')
SEG_LINE = ('12/01 08:22:09 - mmengine - INFO - Iter(train) [ 50/600]  base_lr: 1.0000e-03 lr: 1.0000e-03  '
            'eta: 0:02:03  time: 0.0405  data_time: 0.0081  loss: 0.6472  decode.loss_ce: 0.6472  '
            'decode.acc_seg: 78.3905')
CLS_VAL_LINE = ('12/01 08:36:33 - mmengine - INFO - Epoch(val) [10][4/4]    accuracy/top1: 48.5000  '
                'data_time: 0.0158  time: 0.0646')
SEG_VAL_LINE = ('12/01 08:23:11 - mmengine - INFO - Iter(val) [13/13]    aAcc: 84.4600  mIoU: 40.9200  '
                'mAcc: 50.8000  data_time: 0.0068  time: 0.0177')
OTHER_LINES = ['12/01 08:22:05 - mmengine - INFO - Exp name: linear_beit-tiny_demo_seg_20261201_082156',
               '12/01 08:23:11 - mmengine - INFO - Saving checkpoint at 600 iterations',
               '| wall       | 84.46 | 50.80 |']


def test_help_lists_the_tasks_and_budget_options():
    out = subprocess.run([sys.executable, DEMO, '--help'], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert {'electra', 'seq2seq', 'the-x', 'vision', 'vl', 'vl-pretrain'} <= set(TASKS)
    for word in (f'--task {{{",".join(sorted(TASKS))}}}', '--full', '--vlp-iters', '--vlp-seeds',
                 '--electra-iters', '--electra-seeds', '--the-x-samples', 'vision ', 'vl ', 'seq2seq ', '--s2s-iters',
                 '--pretrain-epochs', '--cls-epochs', '--seg-iters', '--unlabeled', '--seeds', '--vl-train',
                 '--vl-nlvr2', '--vl-tasks'):
        assert word in out.stdout, word


def test_task_dispatch(monkeypatch):
    monkeypatch.setattr(os, 'environ', dict(os.environ))  # main() holds the kernels to AVX2 for the stages
    assert parse_args([]).task == 'vision' and TASKS['vision'].run is vision_demo.run_vision
    seen = []
    monkeypatch.setitem(TASKS, 'toy', Task('a toy task', seen.append))
    main(['--task', 'toy', '--full'])
    assert seen and seen[0].task == 'toy' and seen[0].full
    with pytest.raises(SystemExit) as exc:
        parse_args(['--task', 'no-such-task'])
    assert exc.value.code == 2


def test_help_defaults_are_the_configs_values():
    from mmengine.config import Config
    helps = {a.dest: a.help for a in build_parser()._actions}
    for dest, cfg, key in (('pretrain_epochs', vision_demo.PRE_CFG, 'max_epochs'),
                           ('cls_epochs', vision_demo.CLS_CFG, 'max_epochs'),
                           ('seg_iters', vision_demo.LIN_CFG, 'max_iters')):
        value = Config.fromfile(cfg, import_custom_modules=False).train_cfg[key]
        assert f'(config: {value})' in helps[dest], (dest, value)


def test_seq2seq_demo_task_is_the_sorted_shape_inventory():
    shapes = [dict(color='red', kind='circle'), dict(color='blue', kind='square'), dict(color='blue', kind='circle')]
    assert inventory(shapes) == 'blue circle , blue square , red circle'


def test_vl_chance_levels_by_hand():
    # 2 images x 1 caption: TR@1 = 1 - C(1, 1) / C(2, 1) = 0.5, IR@1 = 1 / 2; every @5 and @10 is 1
    assert retrieval_chance(2, 1) == pytest.approx(100 * (0.5 + 1 + 1 + 0.5 + 1 + 1) / 6)
    # 10 images x 5 captions, TR@1: 5 of 50 captions match: 0.1; IR@1 = 0.1; TR@5 = 1 - C(45,5)/C(50,5)
    tr5 = 1 - 1221759 / 2118760
    tr10 = 1 - 3190187286 / 10272278170
    assert retrieval_chance(10, 5) == pytest.approx(100 * (0.1 + tr5 + tr10 + 0.1 + 0.5 + 1.0) / 6)


@pytest.mark.parametrize('path', ['beit-tiny_demo_pretrain.py', 'beit-tiny_demo_cls.py',
                                  'linear_beit-tiny_demo_seg.py', 'upernet_beit-tiny_demo_seg.py',
                                  'beit3-tiny_demo_vqa.py', 'beit3-tiny_demo_nlvr2.py', 'beit3-tiny_demo_retrieval.py',
                                  'beit3-tiny_demo_caption.py', 'beit3-tiny_demo_pretrain.py'])
def test_demo_configs_log_often(path):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', path), import_custom_modules=False)
    assert cfg.default_hooks.logger.interval <= 20


def test_parse_real_log_lines():
    rec = progress.parse_log_line(PRETRAIN_LINE)
    assert (rec.mode, rec.epoch, rec.iter, rec.total, rec.eta) == ('train', 10, 10, 62, '0:02:48')
    assert rec.values['loss'] == pytest.approx(3.7117) and rec.values['mim_acc'] == pytest.approx(14.974)
    assert rec.values['base_lr'] == pytest.approx(9.9199e-4)
    rec = progress.parse_log_line(CLS_LINE)
    assert (rec.mode, rec.epoch, rec.iter, rec.total, rec.eta) == ('train', 1, 10, 13, '0:00:27')
    rec = progress.parse_log_line(SEG_LINE)
    assert (rec.mode, rec.epoch, rec.iter, rec.total, rec.eta) == ('train', None, 50, 600, '0:02:03')
    assert rec.values['decode.acc_seg'] == pytest.approx(78.3905)
    rec = progress.parse_log_line(CLS_VAL_LINE)
    assert (rec.mode, rec.epoch, rec.iter, rec.total) == ('val', 10, 4, 4)
    assert rec.metrics == {'accuracy/top1': 48.5}
    rec = progress.parse_log_line(SEG_VAL_LINE)
    assert (rec.mode, rec.epoch) == ('val', None) and rec.metrics == {'aAcc': 84.46, 'mIoU': 40.92, 'mAcc': 50.8}
    # mmengine prints longer ETAs as datetime.timedelta does
    rec = progress.parse_log_line(PRETRAIN_LINE.replace('eta: 0:02:48', 'eta: 1 day, 2:03:04'))
    assert rec.eta == '1 day, 2:03:04' and rec.values['time'] == pytest.approx(0.1292)
    for line in OTHER_LINES:
        assert progress.parse_log_line(line) is None


def test_progress_lines():
    line = progress.format_progress('pretrain', progress.parse_log_line(PRETRAIN_LINE), max_epochs=20)
    assert line.startswith('pretrain') and 'epoch 10/20 [10/62]' in line and '46%' in line
    assert 'loss 3.7117' in line and 'mim_acc 15.0' in line and 'eta 0:02:48' in line and 'lr' not in line
    line = progress.format_progress('linseg scratch seed 0', progress.parse_log_line(SEG_LINE))
    assert 'iter  50/600' in line and '8%' in line and 'loss 0.6472' in line and 'acc_seg 78.4' in line
    assert 'eta 0:02:03' in line
    line = progress.format_progress('cls pretrained', progress.parse_log_line(CLS_VAL_LINE))
    assert line.endswith('val after epoch 10: accuracy/top1 48.50')
    assert 'mIoU 40.92' in progress.format_progress('seg', progress.parse_log_line(SEG_VAL_LINE))


def test_schedules_fit_any_budget():
    assert stages.epoch_schedule(20, 2) == ['train_cfg.max_epochs=20', 'param_scheduler.0.end=2',
                                          'param_scheduler.1.begin=2', 'param_scheduler.1.end=20']
    one = stages.epoch_schedule(1, 2)  # no room for warm-up: a constant factor instead, cosine from 0
    assert 'param_scheduler.0.start_factor=1.0' in one and 'param_scheduler.1.begin=0' in one
    assert 'param_scheduler.0.end=2' in stages.iter_schedule(4, 50) and 'train_cfg.val_interval=4' in \
        stages.iter_schedule(4, 50)


def test_default_budgets_leave_the_configs_unchanged():
    """With the configs' own budgets the demo's cfg-options are no-ops: `tools/train.py CONFIG` is the stage."""
    from mmengine.config import Config, DictAction
    for cfg, build, key in ((vision_demo.PRE_CFG, stages.epoch_schedule, 'max_epochs'),
                            (vision_demo.CLS_CFG, stages.epoch_schedule, 'max_epochs'),
                            (vision_demo.LIN_CFG, stages.iter_schedule, 'max_iters')):
        ref = Config.fromfile(cfg, import_custom_modules=False)
        opts = build(ref.train_cfg[key], ref.param_scheduler[0]['end'])
        new = Config.fromfile(cfg, import_custom_modules=False)
        new.merge_from_dict({k: DictAction._parse_iterable(v) for k, v in (o.split('=', 1) for o in opts)})
        assert new.param_scheduler == ref.param_scheduler and new.train_cfg == ref.train_cfg, cfg


def test_run_stage_streams_progress_and_keeps_the_full_log(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(stages, 'HEARTBEAT', 0.3)
    script = tmp_path / 'child.py'
    lines = [OTHER_LINES[0], CLS_LINE, CLS_LINE.replace('[10/13]', '[13/13]'), CLS_VAL_LINE]
    script.write_text('import time\n' + ''.join(f'print({line!r})\n' for line in lines[:2])
                      + 'time.sleep(1.0)\n' + ''.join(f'print({line!r})\n' for line in lines[2:]))
    log = str(tmp_path / 'stage.log')
    res = stages.run_stage('toy stage', [sys.executable, str(script)], log, max_epochs=1, progress_every=0)
    out = capsys.readouterr().out
    assert open(log).read().splitlines() == lines
    assert 'toy stage' in out and 'epoch 1/1 [10/13]' in out and 'still running' in out
    assert 'val after epoch 10: accuracy/top1 48.50' in out and 'done in' in out
    assert res.last_metrics() == {'accuracy/top1': 48.5} and res.seconds >= 1.0
    bad = tmp_path / 'bad.py'
    bad.write_text('print("some context")\nraise SystemExit(3)\n')
    with pytest.raises(SystemExit, match='some context'):
        stages.run_stage('bad stage', [sys.executable, str(bad)], str(tmp_path / 'bad.log'))


def test_run_stage_counts_the_cpu_time_of_the_stage_and_its_workers(tmp_path):
    """The CPU time of a stage includes the processes it waited for (data workers), not its idle waits."""
    script = tmp_path / 'child.py'
    script.write_text('import subprocess, sys, time\n'
                      'busy = "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.4: pass"\n'
                      'subprocess.run([sys.executable, "-c", busy], check=True)\n'
                      'time.sleep(0.6)\n')
    res = stages.run_stage('cpu stage', [sys.executable, str(script)], str(tmp_path / 'cpu.log'))
    assert 0.4 <= res.cpu_seconds < res.seconds and res.seconds >= 1.0
    assert res.main_cpu_seconds < res.cpu_seconds - 0.35  # the busy loop ran in the process the stage waited for


def test_same_arithmetic_env_holds_every_library_to_avx2(monkeypatch):
    """Stages started after use_same_arithmetic() run ATen, MKL and NumPy on their AVX2 code paths."""
    monkeypatch.setattr(os, 'environ', dict(os.environ, MKL_CBWR='COMPATIBLE'))
    for key in stages.SAME_ARITHMETIC_ENV:
        if key != 'MKL_CBWR':
            os.environ.pop(key, None)
    got = stages.use_same_arithmetic()
    assert got == dict(stages.SAME_ARITHMETIC_ENV, MKL_CBWR='COMPATIBLE')  # a value the user set is kept
    os.environ['MKL_CBWR'] = 'AVX2'
    probe = ('import numpy, torch\n'
             'from numpy._core._multiarray_umath import __cpu_features__ as f\n'
             'a = torch.randn(64, 64)\n'
             'a @ a\n'
             'print(torch.backends.cpu.get_cpu_capability(), f["X86_V4"], f["AVX512_ICL"])\n')
    out = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, MKL_VERBOSE='1'))
    assert out.returncode == 0, out.stderr[-2000:]
    with open('/proc/cpuinfo') as f:
        has_avx2 = ' avx2' in f.read()
    assert out.stdout.splitlines()[-1] == f'{"AVX2" if has_avx2 else "DEFAULT"} False False'
    mkl = [line for line in out.stdout.splitlines() if line.startswith('MKL_VERBOSE oneMKL')]
    assert mkl and 'AVX-512' not in mkl[0], mkl


def test_tiny_vision_demo_end_to_end(tmp_path):
    """The whole vision task with drastically shrunk budgets: table with chance levels, figures, stage times."""
    out, data = tmp_path / 'out', tmp_path / 'data'
    cmd = [sys.executable, DEMO, '--task', 'vision', '--out', str(out), '--data', str(data), '--unlabeled', '64',
           '--train-per-class', '8', '--val-per-class', '4', '--ade-train', '16', '--ade-val', '8',
           '--pretrain-epochs', '1', '--cls-epochs', '1', '--seg-iters', '4', '--seeds', '0', '--jobs', '2']
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)  # ~2 min on 2 idle cores
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout
    header = next(line for line in text.splitlines() if 'BEiT-pretrained' in line)
    assert 'from scratch' in header and 'chance' in header
    assert any(line.strip().startswith('classification top-1') and line.rstrip().endswith('25.0%')
               for line in text.splitlines())
    assert 'seg. mIoU, linear x1' in text and 'UperNet' not in text.split('results on')[1]
    assert 'pretrain' in text and 'eta ' in text and 'stage times' in text and 'total time' in text
    assert osp.getsize(out / 'predictions.png') > 0 and glob.glob(str(out / 'mim' / '*.png'))
    results = json.loads((out / 'results.json').read_text())
    assert results['table']['classification top-1']['chance'] == 25.0
    assert set(results['stages']) >= {'pretrain', 'cls pretrained', 'cls scratch', 'linseg pretrained seed 0'}
    assert set(results['stage_cpu']) == set(results['stages']) and results['stage_cpu']['pretrain'] > 0
    assert 'loss:' in (out / 'pretrain.log').read_text()  # the full log went to the file
