"""mmengine log lines -> records (losses, metrics, ETA) and one compact console line per logging interval."""
import re
from dataclasses import dataclass, field
from typing import Dict, Optional

TIMING_KEYS = ('lr', 'base_lr', 'eta', 'time', 'data_time', 'memory', 'grad_norm')

LOG_RE = re.compile(r'\b(?P<unit>Epoch|Iter)\((?P<mode>train|val|test)\)\s*(?:\[\s*(?P<epoch>\d+)\])?'
                    r'\[\s*(?P<iter>\d+)/(?P<total>\d+)\]\s*(?P<rest>.*)$')
ETA_RE = re.compile(r'\beta: (?P<eta>(?:\d+ days?, )?\d+:\d\d:\d\d)')
VALUE_RE = re.compile(r'(?P<key>[A-Za-z_][\w./-]*): (?P<value>-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\b')


@dataclass
class LogRecord:
    """One mmengine progress line.

    Args:
        mode: ``'train'``, ``'val'`` or ``'test'``.
        epoch: The epoch of epoch-based training / validation lines, else None.
        iter: Iteration within the epoch (epoch-based) or overall (iteration-based).
        total: Iterations per epoch (epoch-based) or in the whole run (iteration-based).
        eta: Remaining time of the run as mmengine prints it (``'0:01:10'``), or None.
        values: Every numeric ``key: value`` pair of the line (losses, metrics, lr, times).
    """
    mode: str
    epoch: Optional[int]
    iter: int
    total: int
    eta: Optional[str] = None
    values: Dict[str, float] = field(default_factory=dict)

    @property
    def metrics(self) -> Dict[str, float]:
        """The values that are neither timings nor learning rates (evaluation metrics, losses)."""
        return {k: v for k, v in self.values.items() if k not in TIMING_KEYS}


def parse_log_line(line: str) -> Optional[LogRecord]:
    """Parse an mmengine logger line such as ``Epoch(train) [3][ 40/62]  ... eta: 0:01:10 ... loss: 4.2``.

    Args:
        line: One line of a training or test log.

    Returns:
        The parsed record, or None when the line is not a progress / metrics line.
    """
    m = LOG_RE.search(line.rstrip())
    if m is None:
        return None
    rest = m.group('rest')
    eta = ETA_RE.search(rest)
    values = {v.group('key'): float(v.group('value')) for v in VALUE_RE.finditer(ETA_RE.sub('', rest))}
    return LogRecord(mode=m.group('mode'), epoch=int(m.group('epoch')) if m.group('epoch') else None,
                     iter=int(m.group('iter')), total=int(m.group('total')), eta=eta.group('eta') if eta else None,
                     values=values)


def format_progress(stage: str, rec: LogRecord, max_epochs: Optional[int] = None) -> Optional[str]:
    """The console line for a record: progress, loss and ETA while training, metrics after validation.

    Args:
        stage: Stage name shown first.
        rec: A parsed log line.
        max_epochs: Epochs of an epoch-based run (for the overall percentage); None for iteration-based runs.

    Returns:
        The line, or None for records not worth a console line (progress lines inside validation).
    """
    if rec.mode == 'train':
        if rec.epoch is not None:
            done = (rec.epoch - 1) * rec.total + rec.iter
            epochs = max_epochs or rec.epoch
            where = f'epoch {rec.epoch:>{len(str(epochs))}}/{epochs} [{rec.iter:>{len(str(rec.total))}}/{rec.total}]'
            frac = done / (epochs * rec.total)
        else:
            where = f'iter {rec.iter:>{len(str(rec.total))}}/{rec.total}'
            frac = rec.iter / rec.total
        parts = [f'{stage:<24s} {min(frac, 1.0):4.0%}  {where}']
        if 'loss' in rec.values:
            parts.append(f'loss {rec.values["loss"]:.4f}')
        for key, value in rec.values.items():
            if key.endswith('acc') or key.endswith('acc_seg') or key.startswith('accuracy'):
                parts.append(f'{key.removeprefix("decode.")} {value:.1f}')
        if rec.eta:
            parts.append(f'eta {rec.eta}')
        return '  '.join(parts)
    metrics = {k: v for k, v in rec.metrics.items() if not k.startswith('loss')}
    if not metrics:
        return None
    when = f' after epoch {rec.epoch}' if rec.epoch is not None else ''
    shown = '  '.join(f'{k} {v:.2f}' for k, v in metrics.items())
    return f'{stage:<24s} {rec.mode}{when}: {shown}'
