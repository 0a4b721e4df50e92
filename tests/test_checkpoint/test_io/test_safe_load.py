"""Tests for safe checkpoint loading, atomic saving and AtomicCheckpointHook (CPU, tiny Runner)."""
import argparse
import os
import os.path as osp
import pickle
import uuid
from typing import Tuple

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from beitmm.checkpoint import (
    SAFE_GLOBALS,
    CorruptCheckpointError,
    UnsafeCheckpointError,
    load_checkpoint_file,
    register_safe_globals,
    save_checkpoint_atomic,
)
from beitmm.checkpoint.io import atomic as checkpoint_io
from beitmm.engine.hooks import atomic_checkpoint
from beitmm.engine.hooks.atomic_checkpoint import AtomicLocalBackend


class ToyBackbone(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.block = nn.Linear(2, 4), nn.Linear(4, 4)

    def get_layer_depth(self, name: str, prefix: str = '') -> Tuple[int, int]:
        name = name[len(prefix):] if name.startswith(prefix) else 'other'
        return {'stem': 0, 'block': 1}.get(name.split('.')[0], 2), 3


class ToyModel(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.backbone, self.head = ToyBackbone(), nn.Linear(4, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.head(self.backbone.block(self.backbone.stem(torch.stack(inputs))))  # [B, 1]
        if mode == 'loss':
            return dict(loss=((out - torch.stack(labels)) ** 2).mean())
        return out


class ToyDataset(Dataset):
    METAINFO = dict()

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> dict:
        return dict(inputs=torch.full((2, ), float(i)), labels=torch.ones(1))


class StartRecorder(Hook):
    """Records (epoch, iter) after load_or_resume, i.e. where training starts."""

    def before_train(self, runner) -> None:
        self.start = (runner.epoch, runner.iter)


def make_runner(work_dir: str, max_epochs: int = 2, hook: str = 'beitmm.AtomicCheckpointHook',
                resume: bool = False, custom_hooks=None, **checkpoint) -> Runner:
    return Runner(
        model=ToyModel(), work_dir=work_dir, experiment_name=f'toy_{uuid.uuid4().hex}',
        train_dataloader=dict(dataset=ToyDataset(), sampler=dict(type='DefaultSampler', shuffle=False),
                              batch_size=2, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.05),
                           constructor='beitmm.LayerDecayOptimWrapperConstructor',
                           paramwise_cfg=dict(layer_decay_rate=0.5)),
        param_scheduler=dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=3),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type=hook, interval=1, max_keep_ckpts=1, **checkpoint)),
        custom_hooks=custom_hooks, resume=resume)


@pytest.fixture
def no_safe_globals():
    """Start from torch's pristine allow-list; restore the previous one afterwards."""
    saved = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    yield
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(saved)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Train 2 epochs; record what exists each time the hook writes last_checkpoint."""
    work_dir = str(tmp_path_factory.mktemp('train'))
    seen = []
    real_write = atomic_checkpoint.atomic_write_text

    def spy(text, path, **kwargs):
        seen.append(dict(target=text, complete=sorted(load_checkpoint_file(text)),
                         files=sorted(f for f in os.listdir(work_dir) if f.endswith('.pth'))))
        real_write(text, path, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atomic_checkpoint, 'atomic_write_text', spy)
        make_runner(work_dir).train()
    return work_dir, seen


def test_marker_written_after_checkpoint_and_old_removed_last(trained):
    work_dir, seen = trained
    assert [s['target'] for s in seen] == [osp.join(work_dir, 'epoch_1.pth'), osp.join(work_dir, 'epoch_2.pth')]
    assert all(s['complete'] == ['message_hub', 'meta', 'optimizer', 'param_schedulers', 'state_dict'] for s in seen)
    assert seen[1]['files'] == ['epoch_1.pth', 'epoch_2.pth']  # old checkpoint still there at marker time
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) == ['epoch_2.pth']
    assert open(osp.join(work_dir, 'last_checkpoint')).read() == osp.join(work_dir, 'epoch_2.pth')
    assert not [f for f in os.listdir(work_dir) if f.endswith('.tmp')]


def test_allow_list_loads_runner_checkpoint(trained, no_safe_globals):
    ckpt = load_checkpoint_file(osp.join(trained[0], 'epoch_2.pth'))
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['iter'] == 4
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    logs, counts = buffer.data
    assert isinstance(buffer, HistoryBuffer) and logs.dtype == np.float64 and counts.dtype == np.int64
    assert buffer.mean() == pytest.approx(logs.sum() / counts.sum())  # statistics methods restored
    groups = ckpt['optimizer']['param_groups']
    assert [g['group_name'] for g in groups] == ['layer_2_decay', 'layer_2_no_decay', 'layer_1_decay',
                                                'layer_1_no_decay', 'layer_0_decay', 'layer_0_no_decay']
    assert torch.serialization.get_safe_globals() == []  # the scope left no global registration behind


def test_resume_fails_without_and_works_with_safe_globals(trained, no_safe_globals, tmp_path):
    work_dir = str(tmp_path)
    for name in ('epoch_2.pth', 'last_checkpoint'):
        with open(osp.join(trained[0], name), 'rb') as src, open(osp.join(work_dir, name), 'wb') as dst:
            dst.write(src.read())
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'epoch_2.pth'))

    from mmengine.runner.checkpoint import CheckpointLoader, load_from_local
    with pytest.MonkeyPatch.context() as mp:  # plain mmengine: its own local loader, no allow-list
        mp.setitem(CheckpointLoader._schemes, '', load_from_local)
        with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
            make_runner(work_dir, max_epochs=3, hook='CheckpointHook', resume=True).train()

    recorder = StartRecorder()
    runner = make_runner(work_dir, max_epochs=3, resume=True, custom_hooks=[recorder])
    runner.train()  # AtomicCheckpointHook.before_run registers SAFE_GLOBALS
    assert recorder.start == (2, 4)
    assert (runner.epoch, runner.iter) == (3, 6)
    ckpt = load_checkpoint_file(osp.join(work_dir, 'epoch_3.pth'))
    assert ckpt['meta']['epoch'] == 3
    assert ckpt['optimizer']['param_groups'][0]['param_names'] == ['head.weight']
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))  # max_keep_ckpts=1 after the new save


def test_crash_mid_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    work_dir, puts = str(tmp_path), []
    real_put = AtomicLocalBackend.put

    def crashing_put(self, obj, filepath):
        puts.append(filepath)
        if len(puts) == 2:

            def partial(f):
                f.write(obj[:len(obj) // 2])
                raise RuntimeError('simulated crash while writing')

            checkpoint_io._atomic_write(str(filepath), partial)
        real_put(self, obj, filepath)

    monkeypatch.setattr(AtomicLocalBackend, 'put', crashing_put)
    with pytest.raises(RuntimeError, match='simulated crash'):
        make_runner(work_dir).train()
    leftovers = sorted(f for f in os.listdir(work_dir) if f.endswith(('.pth', '.tmp', 'checkpoint')))
    assert leftovers == ['epoch_1.pth', 'last_checkpoint']  # no epoch_2.pth, no temp file
    assert open(osp.join(work_dir, 'last_checkpoint')).read() == osp.join(work_dir, 'epoch_1.pth')
    assert load_checkpoint_file(osp.join(work_dir, 'epoch_1.pth'))['meta']['epoch'] == 1


def test_register_safe_globals_is_idempotent(trained, no_safe_globals):
    register_safe_globals()
    register_safe_globals()
    assert sorted(map(repr, torch.serialization.get_safe_globals())) == sorted(map(repr, SAFE_GLOBALS))
    ckpt = torch.load(osp.join(trained[0], 'epoch_2.pth'))  # torch's default: weights_only=True
    assert ckpt['meta']['epoch'] == 2
    load_checkpoint_file(osp.join(trained[0], 'epoch_2.pth'))
    assert len(torch.serialization.get_safe_globals()) == len(SAFE_GLOBALS)  # scope kept them


def test_allow_list_is_exact(tmp_path, no_safe_globals):
    hub = MessageHub.get_instance(f'hub_{uuid.uuid4().hex}')
    hub.update_scalar('train/loss', 0.5)
    hub.update_info('eta', np.float64(3.0))  # what RuntimeInfoHook stores
    hub.update_info('best_score', np.float32(41.5))  # save_best on mmseg's float32 mIoU
    path = str(tmp_path / 'hub.pth')
    # + the argparse.Namespace that every official unilm beit2 checkpoint carries as `args`
    torch.save({'message_hub': hub.state_dict(), 'args': argparse.Namespace(lr=1.5e-3, model='beit')}, path)
    assert load_checkpoint_file(path)['message_hub']['runtime_info']['best_score'] == np.float32(41.5)
    assert load_checkpoint_file(path)['args'].lr == 1.5e-3
    for i in range(len(SAFE_GLOBALS)):  # every entry is needed
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(SAFE_GLOBALS[:i] + SAFE_GLOBALS[i + 1:])
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path, weights_only=True)


class Exploit:

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class Custom:

    def __init__(self) -> None:
        self.value = 3


class GetattrGadget:

    def __reduce__(self):
        return getattr, (HistoryBuffer, 'update')


def test_malicious_pickle_is_refused(tmp_path):
    marker, path = tmp_path / 'pwned', str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'x': Exploit(str(marker))}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'`posix\.system`') as err:
        load_checkpoint_file(path)
    assert path in str(err.value) and 'trusted=True' in str(err.value) and '--trust-checkpoint' in str(err.value)
    assert not marker.exists()


def test_unknown_class_and_getattr_gadget_are_refused(tmp_path):
    path = str(tmp_path / 'custom.pth')
    torch.save({'obj': Custom()}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'`[\w.]*Custom`'):
        load_checkpoint_file(path)
    assert load_checkpoint_file(path, trusted=True)['obj'].value == 3
    torch.save({'obj': GetattrGadget()}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'builtins\.getattr\(HistoryBuffer\.update\)'):
        load_checkpoint_file(path)


def test_missing_truncated_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))
    good = str(tmp_path / 'good.pth')
    torch.save({'state_dict': {'w': torch.randn(64, 64)}}, good)
    data = open(good, 'rb').read()
    for name, content in [('truncated.pth', data[:len(data) // 2]), ('empty.pth', b'')]:
        path = str(tmp_path / name)
        with open(path, 'wb') as f:
            f.write(content)
        with pytest.raises(CorruptCheckpointError, match=f'{name} is truncated or corrupt'):
            load_checkpoint_file(path)


def test_atomic_save_survives_crash(tmp_path, monkeypatch):
    path = str(tmp_path / 'ckpt.pth')
    save_checkpoint_atomic({'step': 1, 'w': torch.ones(3)}, path)
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask

    def broken_save(obj, f, *args, **kwargs):
        f.write(b'PK\x03\x04 partial bytes')
        raise RuntimeError('disk full')

    monkeypatch.setattr(torch, 'save', broken_save)
    with pytest.raises(RuntimeError, match='disk full'):
        save_checkpoint_atomic({'step': 2}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ['ckpt.pth']
    ckpt = load_checkpoint_file(path)
    assert ckpt['step'] == 1 and torch.equal(ckpt['w'], torch.ones(3))
    save_checkpoint_atomic({'step': 2}, path)
    assert load_checkpoint_file(path) == {'step': 2}


def test_stale_temps_of_killed_writes_removed_when_training_starts(tmp_path):
    """Work dir and a separate checkpoint folder: exactly the ``.{name}.{8 hex}.tmp`` files go (atomic.py's names)."""
    work, out = str(tmp_path / 'work'), str(tmp_path / 'ckpts')
    ckpt_dir = osp.join(out, 'work')  # mmengine puts the checkpoints in out_dir/<work dir name>
    stale = [osp.join(work, '.last_checkpoint.00ff00ff.tmp'), osp.join(ckpt_dir, '.epoch_3.pth.deadbeef.tmp'),
             osp.join(ckpt_dir, '.best_acc_epoch_1.pth.0a1b2c3d.tmp')]
    kept = [osp.join(work, n) for n in ('.epoch_3.pth.deadbee.tmp', '.epoch_3.pth.deadbeef.tmp~', 'a.0a1b2c3d.tmp',
                                        '.epoch_3.pth.DEADBEEF.tmp', '.epoch_3.pth.deadbeefa.tmp')]
    kept.append(osp.join(ckpt_dir, 'sub', '.epoch_1.pth.deadbeef.tmp'))  # subfolders are not searched
    for path in stale + kept:
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(b'x' * 1000)
    os.symlink(osp.join(work, 'a.0a1b2c3d.tmp'), osp.join(work, '.link.0a1b2c3d.tmp'))  # not a regular file
    make_runner(work, max_epochs=1, out_dir=out).train()
    assert not any(osp.exists(p) for p in stale) and all(osp.isfile(p) for p in kept)
    assert osp.islink(osp.join(work, '.link.0a1b2c3d.tmp'))
    assert sorted(os.listdir(ckpt_dir)) == ['epoch_1.pth', 'sub']
    assert checkpoint_io.remove_stale_temps(str(tmp_path / 'missing')) == []


def test_mmengine_loads_go_through_the_safe_loader(tmp_path, monkeypatch):
    """load_from / resume read files through load_checkpoint_file: clear refusal, trust switch."""
    from mmengine.runner.checkpoint import _load_checkpoint

    from beitmm.checkpoint import install_checkpoint_loader
    install_checkpoint_loader()
    path = str(tmp_path / 'custom.pth')
    torch.save({'state_dict': {'w': torch.ones(1)}, 'extra': Custom()}, path)
    monkeypatch.delenv('BEITMM_TRUST_CHECKPOINT', raising=False)
    with pytest.raises(UnsafeCheckpointError, match='Custom.*--trust-checkpoint'):
        _load_checkpoint(path, map_location='cpu')
    monkeypatch.setenv('BEITMM_TRUST_CHECKPOINT', '1')
    assert torch.equal(_load_checkpoint(path, map_location='cpu')['state_dict']['w'], torch.ones(1))


def test_safetensors_files_load_without_unpickling(tmp_path):
    """HF's model.safetensors: read with safetensors (tensors only); a truncated one is named."""
    import torch
    from safetensors.torch import save_file

    from beitmm.checkpoint import load_checkpoint_file
    from beitmm.checkpoint.io.safe_load import CorruptCheckpointError
    state = {'bert.embeddings.word_embeddings.weight': torch.arange(6.).view(3, 2)}
    path = str(tmp_path / 'model.safetensors')
    save_file(state, path)
    loaded = load_checkpoint_file(path)
    key = 'bert.embeddings.word_embeddings.weight'
    assert torch.equal(loaded[key], state[key])
    data = open(path, 'rb').read()
    broken = tmp_path / 'broken.safetensors'
    broken.write_bytes(data[:len(data) // 2])
    import pytest
    with pytest.raises(CorruptCheckpointError, match='broken.safetensors'):
        load_checkpoint_file(str(broken))
