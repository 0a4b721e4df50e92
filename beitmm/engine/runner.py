"""Build the mmengine Runner for a beitmm config (the one place tools and APIs go through)."""
import os
import warnings
from datetime import timedelta
from typing import List

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.runner import Runner


def _sync_bn_to_bn(node) -> int:
    """Replace SyncBN by BN in a config tree (SyncBN needs GPUs); returns how many were replaced."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'mmseg.SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
            count += 1
        for v in node.values():
            count += _sync_bn_to_bn(v)
    elif isinstance(node, (list, tuple)):
        count += sum(_sync_bn_to_bn(v) for v in node)
    return count


def _short(type_name) -> str:
    return type_name.rpartition('.')[2] if isinstance(type_name, str) else getattr(type_name, '__name__', '')


def is_beitmm_config(cfg: Config) -> bool:
    """Whether ``cfg`` is beitmm's own: it inherits ``configs/_base_/default_runtime.py`` (``beitmm_config = True``).

    Args:
        cfg: A loaded config.

    Returns:
        True when the config states beitmm's loops, samplers, hooks and optim wrapper itself.
    """
    return bool(cfg.get('beitmm_config', False))


RELIABILITY_HOOKS = ('ResumeStateHook', 'NonFiniteLossHook', 'DataHealthHook')


def _make_reliable(cfg: Config) -> List[str]:
    """Give a config that is not beitmm's own what beitmm's configs state (in place).

    Exact-resume loops and samplers, the reliability hooks and the counting AMP wrapper, for mmseg / mmpretrain /
    mmdet projects that use beitmm components with their own runtime. beitmm's configs state all of these in
    ``_base_/default_runtime.py``, the schedules and the dataset bases, and are not changed.

    Returns:
        One line per change made to the config, for the log.
    """
    changes = []
    train_cfg = cfg.get('train_cfg')
    if train_cfg:
        kind = _short(train_cfg.get('type', ''))
        by_epoch = train_cfg.get('by_epoch', 'max_epochs' in train_cfg)
        new = None
        if kind == 'EpochBasedTrainLoop' or (not kind and by_epoch):
            new = 'beitmm.ResumableEpochBasedTrainLoop'
        elif kind == 'IterBasedTrainLoop' or (not kind and not by_epoch):
            new = 'beitmm.ResumableIterBasedTrainLoop'
        if new:
            train_cfg.pop('by_epoch', None)
            changes.append(f"train_cfg.type: {train_cfg.get('type', kind or '(by_epoch)')} -> {new} (exact resume)")
            train_cfg['type'] = new
    sampler = (cfg.get('train_dataloader') or {}).get('sampler')
    if sampler:
        swap = dict(DefaultSampler='beitmm.ResumableSampler', InfiniteSampler='beitmm.ResumableInfiniteSampler')
        new = swap.get(_short(sampler.get('type')))
        if new:
            changes.append(f"train_dataloader.sampler.type: {sampler['type']} -> {new} "
                           '(skips trained samples on resume)')
            sampler['type'] = new
    hooks = list(cfg.get('custom_hooks') or [])
    present = {_short(h.get('type')) for h in hooks + [h for h in (cfg.get('default_hooks') or {}).values() if h]}
    for name in RELIABILITY_HOOKS:
        if name not in present:
            hooks.append(dict(type=f'beitmm.{name}'))
            changes.append(f'custom_hooks: + beitmm.{name}')
    cfg.custom_hooks = hooks
    optim_wrapper = cfg.get('optim_wrapper')
    if optim_wrapper and _short(optim_wrapper.get('type')) == 'AmpOptimWrapper' and \
            optim_wrapper.get('type') != 'beitmm.AmpOptimWrapper':
        changes.append(f"optim_wrapper.type: {optim_wrapper['type']} -> beitmm.AmpOptimWrapper (counts skipped steps)")
        optim_wrapper['type'] = 'beitmm.AmpOptimWrapper'
    return changes


def _fit_to_machine(cfg: Config) -> List[str]:
    """What depends on the machine and the launch, for every config (in place).

    ``num_workers=0`` turns ``persistent_workers`` off, ``randomness.deterministic`` sets the environment of
    deterministic kernels, ``BEITMM_DIST_TIMEOUT`` sets the process group's timeout; without CUDA a distributed
    launch uses gloo and SyncBN layers become BN.

    Returns:
        One line per change made to the config, for the log.
    """
    changes = []
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if loader and loader.get('persistent_workers') and not loader.get('num_workers'):
            loader['persistent_workers'] = False
            changes.append(f'{key}.persistent_workers: True -> False (num_workers=0 has no workers to keep)')
            warnings.warn(f'{key}: persistent_workers=True needs num_workers > 0; turned off for num_workers=0',
                          stacklevel=3)
    randomness = cfg.get('randomness') or {}
    if randomness.get('deterministic'):
        from beitmm.engine.rng import apply_deterministic_env
        env = apply_deterministic_env()
        changes.append('randomness.deterministic: torch.use_deterministic_algorithms(True) (mmengine), '
                       + ', '.join(f'{k}={v}' for k, v in env.items())
                       + ' (effective if MKL has not run in this process yet: tools/train.py --deterministic '
                       'sets it before anything computes)')
    timeout = os.environ.get('BEITMM_DIST_TIMEOUT')
    if timeout:
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['timeout'] = int(timeout)
        changes.append(f'env_cfg.dist_cfg.timeout: {timeout} s (BEITMM_DIST_TIMEOUT)')
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        replaced = _sync_bn_to_bn(cfg._cfg_dict)
        if replaced:
            changes.append(f'SyncBN -> BN in {replaced} layers (no CUDA device)')
        cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
        changes.append('env_cfg.dist_cfg.backend: gloo (no CUDA device)')
        wrapper = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        wrapper.setdefault('device_ids', None)  # CPU modules take no device ids
        cfg.model_wrapper_cfg = wrapper
    return changes


def _init_cpu_dist(cfg: Config) -> None:
    # mmengine's init_dist calls torch.cuda.set_device unconditionally, which fails on CPU machines:
    # start the gloo process group here, and mmengine uses it as is.
    if dist.is_available() and not dist.is_initialized():
        timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout', 1800)
        dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                world_size=int(os.environ['WORLD_SIZE']), timeout=timedelta(seconds=timeout))


def _distinct_experiment_name(cfg: Config) -> None:
    """Give a second Runner of the same config in one process its own experiment name.

    mmengine names a run ``{config stem}_{timestamp in seconds}`` and keys its DefaultScope, logger and message hub
    by that name: two runs of one config within a second would share the first run's scope and log file.
    """
    if cfg.get('experiment_name') or not cfg.filename:
        return
    from mmengine.registry import DefaultScope
    stem = os.path.splitext(os.path.basename(cfg.filename))[0]
    runs = sum(name.startswith(stem + '_') for name in DefaultScope._instance_dict)
    if runs:
        cfg.experiment_name = f'{stem}_run{runs + 1}'


def build_runner(cfg: Config) -> Runner:
    """Build the Runner of a config, with beitmm's safe checkpoint loading in force.

    Every ``type`` of the config is checked first (unknown names stop with close matches), and the width relations
    of the model (``dict(follows='backbone')``, :mod:`beitmm.engine.config_fit`) are resolved. A beitmm config
    (:func:`is_beitmm_config`) is then built as it reads, except for what depends on the machine: ``num_workers=0``
    turns ``persistent_workers`` off; ``randomness.deterministic=True`` also sets the environment of deterministic
    kernels (:data:`beitmm.engine.rng.DETERMINISTIC_ENV`) unless already set; ``BEITMM_DIST_TIMEOUT`` (seconds)
    overrides ``env_cfg.dist_cfg.timeout``; without CUDA a distributed launch uses gloo and SyncBN layers become
    BN, and FSDP shards over CPU ranks. A config that is not beitmm's (an mmseg / mmpretrain / mmdet project using
    beitmm components) also gets what beitmm's configs state: exact-resume loops and samplers, the
    ``ResumeStateHook`` / ``NonFiniteLossHook`` / ``DataHealthHook`` and the counting ``beitmm.AmpOptimWrapper``.
    Every change is logged; so are the thread count, MKL mode and deterministic-algorithm flag.

    Args:
        cfg: A loaded config (``Config.fromfile``) with ``work_dir`` set.

    Returns:
        The Runner (``runner_type`` from the config when given, else mmengine's Runner).
    """
    from beitmm.checkpoint import install_checkpoint_loader, register_safe_globals
    register_safe_globals()  # mmengine resumes under torch.load(weights_only=True), allow-list only
    install_checkpoint_loader()
    import beitmm.datasets  # noqa: F401  registers the samplers and transforms used below
    from beitmm.engine import loops  # noqa: F401  registers the resumable loops in beitmm's LOOPS
    from beitmm.engine.config_check import check_config_types
    check_config_types(cfg)
    from beitmm.engine.config_fit import resolve_widths
    from beitmm.engine.fsdp import fit_fsdp_to_device
    widths = resolve_widths(cfg)
    changes = [] if is_beitmm_config(cfg) else _make_reliable(cfg)
    changes += _fit_to_machine(cfg) + fit_fsdp_to_device(cfg)
    if cfg.get('launcher', 'none') == 'pytorch' and not torch.cuda.is_available():
        _init_cpu_dist(cfg)
    _distinct_experiment_name(cfg)
    if 'runner_type' in cfg:
        from beitmm.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    if widths:
        runner.logger.info('beitmm.engine.runner.build_runner resolved the width relations:\n  ' + '\n  '.join(widths))
    if changes:
        runner.logger.info('beitmm.engine.runner.build_runner changed the config:\n  ' + '\n  '.join(changes))
    from beitmm.engine.rng import compute_settings
    runner.logger.info('compute settings (bit-identical results need the same ones): '
                       + ', '.join(f'{k}={v!r}' for k, v in compute_settings().items()))
    return runner


def close_distributed() -> None:
    """Leave the process group cleanly at the end of a run (gloo aborts at exit now and then otherwise)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
