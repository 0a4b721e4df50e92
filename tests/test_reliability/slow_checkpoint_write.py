"""Imported by a training subprocess (custom_imports) to make one checkpoint write hang half-way.

The checkpoint named by BEITMM_TEST_SLOW_WRITE is written half-way into its temporary file, then the process
sleeps, so the test can SIGKILL it mid-write.
"""
import os
import os.path as osp
import time

import beitmm.engine.hooks.atomic_checkpoint as atomic_checkpoint
from beitmm.checkpoint.io.atomic import temp_path

_real_write = atomic_checkpoint.atomic_write_bytes


def _slow_write(data: bytes, path: str) -> None:
    if not path.endswith(os.environ.get('BEITMM_TEST_SLOW_WRITE', '\0')):
        return _real_write(data, path)
    with open(temp_path(path), 'wb') as f:  # what the real atomic write has on disk before its rename
        f.write(data[:len(data) // 2])
        f.flush()
        os.fsync(f.fileno())
    open(osp.join(osp.dirname(path), 'slow_write_started'), 'w').close()
    time.sleep(600)


atomic_checkpoint.atomic_write_bytes = _slow_write
