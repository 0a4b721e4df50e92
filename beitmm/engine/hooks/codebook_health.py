"""Log the health of every vector-quantizer codebook each epoch: usage, perplexity, dead-code restarts.

Codebook collapse (most of the 8192 VQ-KD codes unused, microsoft/unilm#877, #936, #1556, #1724)
goes unnoticed when nothing reports it; this hook prints one line per quantizer per epoch, writes
the numbers to the visualizer backends (``scalars.json``) and warns below a usage threshold.
"""
from typing import Dict, List, Optional

from mmengine.hooks import Hook

from beitmm.registry import HOOKS


@HOOKS.register_module()
class CodebookHealthHook(Hook):
    """Per-epoch codebook statistics of the model's ``NormEMAQuantizer`` modules.

    Counts are reset before each training epoch and summed over all ranks after it. Works for
    a VQ-KD being trained and for a frozen VQ-KD used as a pretraining target generator (then
    it reports how many of the codes occur as targets).

    Args:
        warn_below: Warn when fewer than this fraction of the codes was used in the epoch.
        interval: Log every ``interval`` epochs (counts cover the epochs since the last log).
    """

    priority = 'LOW'

    def __init__(self, warn_below: float = 0.5, interval: int = 1) -> None:
        if not 0 <= warn_below <= 1:
            raise ValueError(f'warn_below is a fraction of the codebook, got {warn_below}')
        self.warn_below = warn_below
        self.interval = interval
        self.history: List[Dict[str, float]] = []

    @staticmethod
    def _quantizers(runner) -> Dict:
        from beitmm.models.tokenizers.quantizer import find_quantizers
        return find_quantizers(runner.model)

    def before_train(self, runner) -> None:
        """Warn when the model has no quantizer to report on.

        Args:
            runner: The runner.
        """
        if not self._quantizers(runner):
            runner.logger.warning('CodebookHealthHook: the model has no NormEMAQuantizer; nothing to report')

    def before_train_epoch(self, runner) -> None:
        """Reset the quantizers' counts at the start of a logging interval.

        Args:
            runner: The runner.
        """
        if runner.epoch % self.interval == 0:
            for q in self._quantizers(runner).values():
                q.reset_stats()

    def after_train_epoch(self, runner) -> None:
        """Report every quantizer's statistics, summed over ranks, at the end of a logging interval.

        Args:
            runner: The runner.
        """
        if (runner.epoch + 1) % self.interval:
            return
        for name, q in self._quantizers(runner).items():
            self.report(runner, name, q.codebook_stats(reduce=True))

    def report(self, runner, name: str, stats: Dict[str, float], epoch: Optional[int] = None) -> None:
        """Log one quantizer's statistics (and warn when usage is low).

        Args:
            runner: The Runner.
            name: Module name of the quantizer.
            stats: Output of ``NormEMAQuantizer.codebook_stats``.
            epoch: Epoch number shown (default: the epoch just finished, 1-based).
        """
        epoch = runner.epoch + 1 if epoch is None else epoch
        stats = dict(stats, epoch=epoch, name=name)
        self.history.append(stats)
        runner.logger.info(
            f'Epoch(train) [{epoch}] codebook {name}: used {stats["used"]}/{stats["num_codes"]} '
            f'({100 * stats["usage"]:.1f}%), perplexity {stats["perplexity"]:.1f}, '
            f'dead-code restarts {stats["restarts"]}, assignments {stats["assignments"]}')
        tag = name.replace('.', '/')
        runner.visualizer.add_scalars(
            {f'codebook/{tag}/usage': stats['usage'], f'codebook/{tag}/perplexity': stats['perplexity'],
             f'codebook/{tag}/restarts': stats['restarts']}, step=epoch)
        if stats['assignments'] and stats['usage'] < self.warn_below:
            runner.logger.warning(
                f'codebook {name} is collapsing: only {stats["used"]} of {stats["num_codes"]} codes '
                f'({100 * stats["usage"]:.1f}% < {100 * self.warn_below:.0f}%) were used in epoch {epoch}. '
                'Check the learning rate / gradient clipping, keep k-means init and dead-code restarts on '
                '(dead_code_threshold > 0), or use a smaller codebook for a small dataset.')
