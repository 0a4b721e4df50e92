"""Plot the replacement-sampling curves of ELECTRA / CIM runs side by side: one panel per quantity, one line per run.

    python tools/analysis_tools/plot_electra_curves.py plain=work_dirs/plain hardness=work_dirs/hard \
        focal=work_dirs/focal --out curves.png [--keys resample_correct disc_replaced disc_kept hardness_err] \
        [--smooth 5]

Each run is ``LABEL=PATH`` (or a bare PATH, labelled by its folder): PATH is a work dir (its newest
``*/vis_data/scalars.json`` or ``vis_data/scalars.json``, written by mmengine's LocalVisBackend) or a
``scalars.json`` file. Quantities logged by ``beitmm.ELECTRA`` / ``beitmm.CIM``: ``resample_correct`` (share of
masked tokens whose sample is the original), ``disc_replaced`` / ``disc_kept`` (discriminator / enhancer loss on
replaced / kept tokens), ``hardness_err`` (hardness head's absolute error; only hardness-aware runs have it),
``disc_acc``, ``loss_gen``. A run without a key is left out of that panel.
"""
import argparse
import glob
import json
import os.path as osp
import runpy
from typing import Dict, List, Optional, Sequence, Tuple

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed



KEYS = ('resample_correct', 'disc_replaced', 'disc_kept', 'hardness_err')
TITLES = dict(resample_correct='correct-resample rate (sample == original)', disc_replaced='D loss on replaced',
              disc_kept='D loss on kept', hardness_err='hardness head |error|', disc_acc='D accuracy',
              loss_gen='generator loss')


def find_scalars(path: str) -> str:
    """The ``scalars.json`` of a work dir (the newest run's) or the file itself."""
    if osp.isfile(path):
        return path
    found = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')) +
                   glob.glob(osp.join(path, 'vis_data', 'scalars.json')), key=osp.getmtime)
    if not found:
        raise FileNotFoundError(f'no vis_data/scalars.json under {path} (mmengine LocalVisBackend writes it; is '
                                'this a work dir of a training run?)')
    return found[-1]


def read_curves(path: str) -> Dict[str, Tuple[List[int], List[float]]]:
    """``key -> (steps, values)`` of the training records of a scalars.json (validation lines have no 'lr')."""
    curves: Dict[str, Tuple[List[int], List[float]]] = {}
    with open(find_scalars(path), encoding='utf-8') as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            if 'step' not in rec or 'lr' not in rec:
                continue
            for key, value in rec.items():
                if isinstance(value, (int, float)) and key not in ('step', 'iter', 'epoch'):
                    steps, values = curves.setdefault(key, ([], []))
                    steps.append(int(rec['step']))
                    values.append(float(value))
    return curves


def smooth(values: Sequence[float], window: int) -> List[float]:
    """Trailing moving average over ``window`` records (1: unchanged)."""
    out, acc = [], []
    for v in values:
        acc.append(v)
        if len(acc) > window:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def parse_run(spec: str) -> Tuple[str, str]:
    """``LABEL=PATH`` or ``PATH`` -> (label, path)."""
    if '=' in spec and not osp.exists(spec):
        label, path = spec.split('=', 1)
        return label, path
    return osp.basename(osp.normpath(spec)), spec


def plot(runs: Sequence[Tuple[str, str]], out: str, keys: Sequence[str] = KEYS, window: int = 1,
         title: Optional[str] = None) -> str:
    """Draw the panels and save the PNG.

    Args:
        runs: (label, work dir or scalars.json) pairs.
        out: PNG path.
        keys: Logged quantities, one panel each.
        window: Moving-average window (records).
        title: Figure title.

    Returns:
        ``out``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    data = [(label, read_curves(path)) for label, path in runs]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for ax, key in zip(axes[0], keys, strict=True):
        for i, (label, curves) in enumerate(data):  # one colour per run in every panel
            if key in curves:
                steps, values = curves[key]
                ax.plot(steps, smooth(values, window), label=label, linewidth=1.2, color=colours[i % len(colours)])
        ax.set_title(TITLES.get(key, key), fontsize=9)
        ax.set_xlabel('iteration', fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_lines()}
    axes[0][0].legend(list(handles.values()), list(handles), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command line: runs, --out, --keys, --smooth, --title."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('runs', nargs='+', help='LABEL=WORK_DIR (or scalars.json)')
    p.add_argument('--out', default='electra_curves.png', help='PNG to write')
    p.add_argument('--keys', nargs='+', default=list(KEYS), help='logged quantities, one panel each')
    p.add_argument('--smooth', type=int, default=1, help='moving-average window in log records (default 1)')
    p.add_argument('--title', default=None, help='figure title')
    args = p.parse_args(argv)
    print(plot([parse_run(r) for r in args.runs], args.out, args.keys, max(args.smooth, 1), args.title))


if __name__ == '__main__':
    main()
