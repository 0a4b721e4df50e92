"""CheckpointHook whose checkpoints and ``last_checkpoint`` marker are written atomically.

mmengine 0.10.7 writes checkpoints with ``LocalBackend.put`` straight into the final file,
writes ``work_dir/last_checkpoint`` with a plain ``open('w')`` and, with ``max_keep_ckpts``,
deletes the oldest checkpoint *before* saving the new one, so a crash mid-save can leave a
truncated newest checkpoint, a marker pointing at it, or no checkpoint at all.

``AtomicCheckpointHook`` points the hook's ``backend_args`` at ``AtomicLocalBackend`` (a
``LocalBackend`` whose ``put`` writes a temp file, fsyncs it and ``os.replace``-s it), which
``runner.save_checkpoint`` receives from the hook, so every checkpoint the hook saves
(periodic, last, best, published) is atomic without patching mmengine. It then writes the
marker atomically once the checkpoint is complete, removes outdated checkpoints only after
that, deletes the temp files of writes killed in an earlier run (``.{name}.{8 hex}.tmp`` in the
work dir and checkpoint folder, each logged with its size) when training starts, and registers
the ``weights_only`` allow-list in ``before_run`` so ``resume=True`` works on torch >= 2.6. Use it in a config with::

    default_hooks = dict(checkpoint=dict(type='beitmm.AtomicCheckpointHook', interval=1))
"""
import hashlib
import logging
import os.path as osp
import pickle
from pathlib import Path
from typing import List, Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio.backends import backends as _registered_backends
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.runner.checkpoint import save_checkpoint

from beitmm.checkpoint import atomic_write_bytes, atomic_write_text, load_checkpoint_file, register_safe_globals
from beitmm.checkpoint.io.atomic import remove_stale_temps
from beitmm.registry import HOOKS

ATOMIC_BACKEND = 'beitmm_atomic_local'


class AtomicLocalBackend(LocalBackend):
    """mmengine ``LocalBackend`` whose writes are atomic (temp file + fsync + os.replace)."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Atomically write bytes to ``filepath`` (parent directories are created).

        Args:
            obj: Data to be written.
            filepath: Destination.
        """
        atomic_write_bytes(obj, str(filepath))

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Atomically write text to ``filepath``.

        Args:
            obj: Text to be written.
            filepath: Destination.
            encoding: Text encoding. Defaults to ``'utf-8'``.
        """
        atomic_write_text(obj, str(filepath), encoding=encoding)


if ATOMIC_BACKEND not in _registered_backends:
    register_backend(ATOMIC_BACKEND, AtomicLocalBackend)


def _is_local(uri: str) -> bool:
    return '://' not in str(uri)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``mmengine.hooks.CheckpointHook`` with crash-safe writes; takes the same arguments."""

    def before_run(self, runner) -> None:
        """Allow-list mmengine's checkpoint globals before the runner loads or resumes.

        Args:
            runner: The runner.
        """
        register_safe_globals()
        super().before_run(runner)

    def before_train(self, runner) -> None:
        """Switch local checkpoint writes to ``AtomicLocalBackend``, then set up as usual.

        Args:
            runner: The runner.
        """
        out_dir = self.out_dir if self.out_dir is not None else runner.work_dir
        backend = (self.backend_args or {}).get('backend', 'local')
        if self.file_client_args is None and _is_local(out_dir) and backend in ('local', ATOMIC_BACKEND):
            self.backend_args = {**(self.backend_args or {}), 'backend': ATOMIC_BACKEND}
        else:
            print_log(f'AtomicCheckpointHook: checkpoints to {out_dir} (backend {backend}) are '
                      'not local files and are written non-atomically', logger='current',
                      level=logging.WARNING)
        super().before_train(runner)
        if is_main_process():  # the only writer, and it writes nothing before the first save
            for folder in dict.fromkeys(d for d in (runner.work_dir, str(self.out_dir)) if _is_local(d)):
                for path, size in remove_stale_temps(folder):
                    print_log(f"AtomicCheckpointHook: removed '{path}' ({size:,} bytes), the temp file of a write "
                              'that was killed before it completed', logger='current', level=logging.WARNING)

    def _remove_checkpoint(self, step: int) -> None:
        path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed saves directories
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        """Save, then update ``last_checkpoint``, then drop outdated checkpoints.

        Args:
            runner: The runner.
            step: Epoch or iteration number of the checkpoint.
            meta: Meta information stored in the checkpoint.
        """
        outdated: List[int] = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, ckpt_filename, self.file_client_args, save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
            backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        # The marker names a file that is already complete (the backend renamed it in place).
        atomic_write_text(str(self.last_ckpt), osp.join(runner.work_dir, 'last_checkpoint'))
        for old_step in outdated:
            self._remove_checkpoint(old_step)

    def _publish_model(self, runner, ckpt_path: str) -> None:
        """Save ``ckpt_path`` restricted to ``published_keys`` as ``<name>-<sha8>.pth``.

        Args:
            runner: The runner.
            ckpt_path: Checkpoint to publish.
        """
        if not _is_local(ckpt_path):
            super()._publish_model(runner, ckpt_path)
            return
        checkpoint = load_checkpoint_file(ckpt_path)
        removed = [key for key in list(checkpoint) if key not in self.published_keys]
        for key in removed:
            checkpoint.pop(key)
        if removed:
            print_log(f'Keys {removed} are not in published_keys and are dropped from the '
                      'published checkpoint', logger='current')
        sha = hashlib.sha256(pickle.dumps(checkpoint)).hexdigest()
        final_path = osp.splitext(ckpt_path)[0] + f'-{sha[:8]}.pth'
        save_checkpoint(checkpoint, final_path, backend_args=self.backend_args)
        print_log(f'The checkpoint ({ckpt_path}) is published to {final_path}.', logger='current')
