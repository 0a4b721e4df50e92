"""Training loops that resume exactly, in the middle of an epoch too.

mmengine 0.10.7's ``EpochBasedTrainLoop`` restarts an interrupted epoch from its first batch,
and ``IterBasedTrainLoop`` re-reads (loads and augments) every trained batch to reach its
position. These loops tell a :class:`~beitmm.datasets.samplers.ResumableSampler` to skip the
trained samples instead, so a resumed run sees exactly the batches the uninterrupted run would
have seen. They also keep validation and the creation of dataloader iterators from moving the
training random state (both draw from torch's global generator), and turn on per-sample
augmentation seeding (:func:`~beitmm.datasets.samplers.install_sample_seeding`).
``beitmm.engine.runner.build_runner`` selects them in place of mmengine's loops.
"""
import logging

from mmengine.logging import print_log

# _InfiniteDataloaderIterator is private mmengine API: safe under the mmengine==0.10.7 pin (requirements/runtime.txt)
from mmengine.runner.loops import EpochBasedTrainLoop, IterBasedTrainLoop, _InfiniteDataloaderIterator

from beitmm.datasets.samplers import install_sample_seeding
from beitmm.engine.rng import fork_rng
from beitmm.registry import LOOPS


def _sampler(dataloader):
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    return getattr(batch_sampler, 'sampler', None) or getattr(dataloader, 'sampler', None)


def _batch_size(dataloader) -> int:
    return getattr(dataloader.batch_sampler, 'batch_size', None) or dataloader.batch_size or 1


def _setup_seeding(dataloader) -> None:
    if not hasattr(_sampler(dataloader), 'skip'):
        print_log(f'{type(_sampler(dataloader)).__name__} cannot skip samples: a run resumed mid-epoch '
                  'restarts the epoch (use beitmm.ResumableSampler / beitmm.ResumableInfiniteSampler)',
                  logger='current', level=logging.WARNING)
    if not install_sample_seeding(dataloader.dataset):
        print_log(f'{type(dataloader.dataset).__name__} has no prepare_data: augmentations are not seeded '
                  'per sample, so a resumed run may augment differently', logger='current',
                  level=logging.WARNING)


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that continues an epoch at the batch where it stopped.

    Takes the arguments of mmengine's ``EpochBasedTrainLoop``.
    """

    def __init__(self, runner, dataloader, **kwargs) -> None:
        super().__init__(runner, dataloader, **kwargs)
        _setup_seeding(self.dataloader)

    def run(self):
        """Launch training; validation leaves the training random state untouched.

        Returns:
            nn.Module: The trained model.
        """
        self.runner.call_hook('before_train')
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch()
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._epoch >= self.val_begin
                    and (self._epoch % self.val_interval == 0 or self._epoch == self._max_epochs)):
                with fork_rng():
                    self.runner.val_loop.run()
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_epoch(self) -> None:
        """Iterate the rest of the current epoch (all of it unless resumed mid-epoch)."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        num_batches = len(self.dataloader)
        done = self._iter - self._epoch * num_batches  # batches of this epoch trained before a resume
        sampler = _sampler(self.dataloader)
        if done >= num_batches:  # saved after the last iteration, before the end-of-epoch hooks
            print_log(f'Resuming at the end of epoch {self._epoch + 1}', logger='current')
        else:
            if done > 0 and hasattr(sampler, 'skip'):
                print_log(f'Resuming epoch {self._epoch + 1} at batch {done + 1}/{num_batches}', logger='current')
                sampler.skip(done * _batch_size(self.dataloader))
            else:
                done = 0
            with fork_rng():  # a new iterator draws a worker base seed from torch's generator
                batches = iter(self.dataloader)
            for idx, data_batch in enumerate(batches, start=done):
                self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1


@LOOPS.register_module()
class ResumableIterBasedTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` that resumes by moving the sampler instead of re-reading batches.

    Takes the arguments of mmengine's ``IterBasedTrainLoop``.
    """

    def __init__(self, runner, dataloader, **kwargs) -> None:
        super().__init__(runner, dataloader, **kwargs)
        _setup_seeding(self.dataloader)
        # mmengine started an iterator (and maybe forked workers) before seeding was installed
        old = self.dataloader_iterator._iterator
        if hasattr(old, '_shutdown_workers'):
            old._shutdown_workers()
        self.dataloader._iterator = None
        with fork_rng():
            self.dataloader_iterator = _InfiniteDataloaderIterator(self.dataloader)

    def run(self):
        """Launch training; validation leaves the training random state untouched.

        Returns:
            nn.Module: The trained model.
        """
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        sampler = _sampler(self.dataloader)
        if self._iter > 0 and hasattr(sampler, 'skip'):
            print_log(f'Resuming at iteration {self._iter + 1}', logger='current')
            sampler.skip(self._iter * _batch_size(self.dataloader))
            with fork_rng():
                self.dataloader_iterator = _InfiniteDataloaderIterator(self.dataloader)
        elif self._iter > 0:
            for _ in range(self._iter):  # mmengine's way: load and drop every trained batch
                next(self.dataloader_iterator)
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                with fork_rng():
                    self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model
