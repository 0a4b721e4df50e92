"""Save what mmengine leaves out of a checkpoint for an exact resume, and check the resume fits.

mmengine 0.10.7 checkpoints hold the model, optimizer (with the AMP scaler), schedulers, EMA
and message hub, but no random state and no sampler seed. ``ResumeStateHook`` adds both under
``checkpoint['beitmm_resume']`` and restores them when the run resumes. In a distributed run it
saves every rank's random state (``rng_ranks``, gathered from all ranks when a checkpoint is
saved: mmengine writes the checkpoint on rank 0 only) and each rank continues from its own, so
models that draw random numbers (CIM's sampling, VQ-KD's code restarts, dropout) resume
bit-identically with ``randomness=dict(diff_rank_seed=True)`` too. It also records the compute
settings the bits depend on (thread count, ``MKL_CBWR``, deterministic algorithms; see
:mod:`beitmm.engine.rng`) and warns when a resumed run differs in them: it then continues correctly
but not bit-identically to the uninterrupted run. Before any weight is
loaded on resume it also compares the checkpoint with the model and optimizer that were built
from the current config, and stops with a message naming the keys or parameter groups that
differ (mmengine would load the weights non-strictly and fail later in the optimizer with
"loaded state dict contains a parameter group that doesn't match the size of optimizer's group").
"""
import logging
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from beitmm.checkpoint.io.shapes import model_state_shapes
from beitmm.engine.rng import compute_settings, get_rng_state, set_rng_state
from beitmm.registry import HOOKS

if TYPE_CHECKING:
    from mmengine.runner import Runner

RESUME_KEY = 'beitmm_resume'
_FIX = ('Resume needs the model and optimizer config the checkpoint was saved with (same architecture, '
        'same paramwise_cfg / layer decay). To start a new run from these weights instead, pass the file '
        'as `load_from` without --resume (tools/train.py CONFIG --cfg-options load_from=PATH).')


class ResumeMismatchError(RuntimeError):
    """The checkpoint being resumed was saved by a different model or optimizer setup."""


def _examples(names: List[str], limit: int = 3) -> str:
    shown = ', '.join(names[:limit])
    return shown + (f' (+{len(names) - limit} more)' if len(names) > limit else '')


def _model_differences(checkpoint_state: dict, model_state: Dict[str, Sequence[int]]) -> List[str]:
    missing = [k for k in model_state if k not in checkpoint_state]
    unexpected = [k for k in checkpoint_state if k not in model_state]
    reshaped = [f'{k} {tuple(checkpoint_state[k].shape)} -> {tuple(model_state[k])}'
                for k in model_state if k in checkpoint_state and hasattr(checkpoint_state[k], 'shape')
                and tuple(checkpoint_state[k].shape) != tuple(model_state[k])]
    problems = []
    if reshaped:
        problems.append(f'{len(reshaped)} tensor(s) changed shape (checkpoint -> model): {_examples(reshaped)}')
    if missing:
        problems.append(f'{len(missing)} key(s) of the model are not in the checkpoint: {_examples(missing)}')
    if unexpected:
        problems.append(f'{len(unexpected)} key(s) of the checkpoint are not in the model: '
                        f'{_examples(unexpected)}')
    return problems


def _optimizer_differences(checkpoint_optim: dict, optim_wrapper) -> List[str]:
    if not isinstance(optim_wrapper, OptimWrapper) or 'param_groups' not in checkpoint_optim:
        return []
    saved = [len(g['params']) for g in checkpoint_optim['param_groups']]
    now = [len(g['params']) for g in optim_wrapper.optimizer.param_groups]
    if len(saved) != len(now):
        return [f'the optimizer has {len(now)} parameter groups but the checkpoint has {len(saved)}']
    diff = [f'group {i}: {a} -> {b} params' for i, (a, b) in enumerate(zip(saved, now, strict=True)) if a != b]
    return [f'optimizer parameter groups differ in size (checkpoint -> now): {_examples(diff)}'] if diff else []


def compute_differences(saved: Optional[dict], now: dict) -> List[str]:
    """Compute settings that differ between a checkpoint and this run.

    Args:
        saved: ``compute`` of the checkpoint's resume state (None: not recorded).
        now: :func:`~beitmm.engine.rng.compute_settings` of this run.

    Returns:
        One ``name: checkpoint -> now`` entry per differing setting.
    """
    if not saved:
        return []
    return [f'{k}: {saved[k]!r} -> {now[k]!r}' for k in now if k in saved and saved[k] != now[k]]


def rank_rng_state(saved: dict, rank: int, world_size: int, diff_rank_seed: bool) -> Tuple[Optional[dict], str]:
    """The saved random state a rank continues from, and why the resume is not exact (or '').

    Args:
        saved: The checkpoint's resume state: ``rng`` (rank 0's) and, from a distributed run, ``rng_ranks``.
        rank: This rank.
        world_size: Ranks of this run.
        diff_rank_seed: Whether the ranks were seeded differently (mmengine's ``randomness.diff_rank_seed``).

    Returns:
        tuple: The state to restore (None: keep the one seeded at start-up) and a warning ('' when exact).
    """
    states = saved.get('rng_ranks') or [saved['rng']]
    if len(states) == world_size:
        return states[rank], ''
    if not diff_rank_seed:  # every rank draws the same numbers: any saved state is every rank's
        return states[min(rank, len(states) - 1)], ''
    held = (f'the random states of {len(states)} ranks' if 'rng_ranks' in saved else
            "rank 0's random state only (saved by one process, or by a beitmm that saved no other)")
    how = (f'ranks < {len(states)} continue from their saved states, the others from the states seeded at start-up'
           if world_size > len(states) else f'the states of ranks >= {world_size} are not used')
    note = (f'the checkpoint holds {held} and this run has {world_size} ranks with diff_rank_seed=True: {how}, so '
            'the resumed run is not bit-identical to an uninterrupted one')
    return (states[rank] if rank < len(states) else None), note


@HOOKS.register_module()
class ResumeStateHook(Hook):
    """Save and restore random states and sampler seed; check a resumed checkpoint fits the run.

    Added to every run by ``beitmm.engine.runner.build_runner``.

    Args:
        check_resume: Compare the checkpoint with the model and optimizer on resume.
            Defaults to True.
    """

    priority = 'HIGHEST'  # check before CheckpointConvertHook rewrites the state dict

    def __init__(self, check_resume: bool = True) -> None:
        self.check_resume = check_resume
        self._pending: Optional[dict] = None
        self._rank_states: Optional[list] = None  # every rank's random state, gathered for the save under way

    @staticmethod
    def _sampler(runner):
        loader = runner.train_loop.dataloader
        batch_sampler = getattr(loader, 'batch_sampler', None)
        return getattr(batch_sampler, 'sampler', None) or getattr(loader, 'sampler', None)

    def before_save_checkpoint(self, runner: 'Runner', checkpoint: dict) -> None:
        """Store the random states and the sampler seed.

        Args:
            runner: The runner.
            checkpoint: The checkpoint being saved.
        """
        state = dict(rng=get_rng_state(), compute=compute_settings())
        if self._rank_states is not None:
            state['rng_ranks'] = self._rank_states
        seed = getattr(self._sampler(runner), 'seed', None)
        if seed is not None:
            state['sampler_seed'] = int(seed)
        checkpoint[RESUME_KEY] = state

    def after_load_checkpoint(self, runner: 'Runner', checkpoint: dict) -> None:
        """On resume: check the checkpoint against the model and optimizer, keep its states.

        Args:
            runner: The runner.
            checkpoint: The loaded checkpoint (weights not yet in the model).

        Raises:
            ResumeMismatchError: The model or optimizer differs from the checkpoint's.
        """
        if not getattr(runner, '_resume', False):
            return  # load_from: weights only, any conversion allowed
        if self.check_resume and 'state_dict' in checkpoint:
            problems = _model_differences(checkpoint['state_dict'], model_state_shapes(runner.model))
            if not problems and 'optimizer' in checkpoint:
                problems = _optimizer_differences(checkpoint['optimizer'], runner.optim_wrapper)
            if problems:
                source = getattr(runner, '_load_from', None) or 'the last checkpoint of the work dir'
                raise ResumeMismatchError(f'Cannot resume from {source}: the model changed since the checkpoint '
                                          f'was saved: ' + '; '.join(problems) + '. ' + _FIX)
        self._pending = checkpoint.get(RESUME_KEY)
        if self._pending is None:
            print_log('The checkpoint has no random state (not saved by beitmm): the resumed run continues '
                      'with fresh random states', logger='current', level=logging.WARNING)
            return
        changed = compute_differences(self._pending.get('compute'), compute_settings())
        if changed:
            print_log('Resuming with other compute settings than the checkpoint was trained with ('
                      + ', '.join(changed) + '): training continues correctly but not bit-identically to an '
                      'uninterrupted run (set the same thread count, e.g. OMP_NUM_THREADS, and the same '
                      '--deterministic / MKL_CBWR as the interrupted run)', logger='current', level=logging.WARNING)

    def _gather_on_save(self, runner: 'Runner') -> None:
        """Make ``runner.save_checkpoint`` gather every rank's random state before it saves (on rank 0).

        mmengine's checkpoint hooks call ``runner.save_checkpoint`` on every rank (it is ``master_only``
        inside); a caller that calls it on rank 0 alone would wait here for the other ranks.
        """
        save = runner.save_checkpoint
        if get_dist_info()[1] == 1 or getattr(save, 'gathers_rank_rng', False):
            return

        def save_checkpoint(*args, **kwargs):
            self._rank_states = all_gather_object(get_rng_state())
            try:
                return save(*args, **kwargs)
            finally:
                self._rank_states = None

        save_checkpoint.gathers_rank_rng = True
        runner.save_checkpoint = save_checkpoint

    def before_train(self, runner: 'Runner') -> None:
        """Put back the sampler seed and this rank's random states saved with the resumed checkpoint.

        Args:
            runner: The runner.
        """
        self._gather_on_save(runner)
        if self._pending is None:
            return
        sampler = self._sampler(runner)
        if 'sampler_seed' in self._pending and hasattr(sampler, 'seed'):
            sampler.seed = self._pending['sampler_seed']
        rank, world_size = get_dist_info()
        diff_rank_seed = bool((getattr(runner, '_randomness_cfg', None) or {}).get('diff_rank_seed', False))
        state, note = rank_rng_state(self._pending, rank, world_size, diff_rank_seed)
        if note:
            print_log(f'Resume: {note}', logger='current', level=logging.WARNING)
        if state is not None:
            set_rng_state(state)
        self._pending = None
