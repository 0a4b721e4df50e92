"""Look at what a multimodal pretraining config feeds the model: one PNG per step, every stream's samples.

    python tools/analysis_tools/browse_pretrain_data.py CONFIG --steps 0 1 --out work_dirs/browse \
        [--max-samples 8] [--seed 0] [--cfg-options k=v ...]

The step is built by the config's own ``beitmm.MultiSourceDataset`` (the same seeds as training: step ``s`` here is
step ``s`` of a run with ``--seed``, on rank 0). Images show the masked patches greyed; texts show every predicted
token in brackets: ``[red]`` became the mask token, ``[red>blue]`` a random token, ``[red=]`` was kept.
"""
import argparse
import os
import os.path as osp
import runpy
import textwrap
from typing import List, Optional

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt
from mmengine.config import Config, DictAction

import beitmm  # noqa: F401  (registers the types)
from beitmm.registry import DATASETS
from beitmm.visualization.mim import mask_overlay


def masked_text(tokenizer, sample: dict) -> str:
    """The text of a sample with its predicted tokens marked (see the module doc).

    Args:
        tokenizer: The ``beitmm.MaskText`` tokenizer.
        sample: A packed sample (``text_ids``, ``masked_text_ids``, ``mlm_labels``, ``padding_mask``).

    Returns:
        str: Pieces joined by spaces, special tokens left out.
    """
    special = set(tokenizer.special_ids.values())
    out = []
    for orig, inp, label, pad in zip(sample['text_ids'].tolist(), sample['masked_text_ids'].tolist(),
                                     sample['mlm_labels'].tolist(), sample['padding_mask'].tolist(), strict=True):
        if pad or orig in special:
            continue
        piece = tokenizer.decode([orig], skip_special_tokens=False).strip() or '_'
        if label == -100:
            out.append(piece)
        elif inp == tokenizer.mask_id:
            out.append(f'[{piece}]')
        elif inp == orig:
            out.append(f'[{piece}=]')
        else:
            out.append(f'[{piece}>{tokenizer.decode([inp], skip_special_tokens=False).strip()}]')
    return ' '.join(out)


def _masker(source):
    return next((t for t in getattr(getattr(source, 'pipeline', None), 'transforms', [])
                 if type(t).__name__ == 'MaskText'), None)


def draw_step(dataset, step: int, seed: int, max_samples: int, path: str) -> dict:
    """Draw one step of a ``beitmm.MultiSourceDataset`` into ``path``.

    Args:
        dataset: The dataset.
        step: Step number.
        seed: The run's seed.
        max_samples: Samples drawn per stream at most.
        path: Output PNG.

    Returns:
        dict: Stream name -> samples in the step, plus ``masked_patches`` / ``predicted_tokens`` fractions.
    """
    batch = dataset.step(step, seed)
    rows = [(name, samples[:max_samples]) for name, samples in batch.items()]
    cols = max(len(s) for _, s in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(2.4 * cols, 2.9 * len(rows)), squeeze=False)
    stats = {name: len(samples) for name, samples in batch.items()}
    for r, (name, samples) in enumerate(rows):
        tok = getattr(_masker(dataset.sources[name]), 'tokenizer', None)
        for c in range(cols):
            ax = axes[r][c]
            ax.axis('off')
            if c >= len(samples):
                continue
            s = samples[c]
            if 'img' in s:
                img = s['img'].permute(1, 2, 0).numpy()
                ax.imshow(mask_overlay(img, s['mask'].numpy(), alpha=0.6) if 'mask' in s else img)
            text = masked_text(tok, s) if tok is not None and 'text_ids' in s else ''
            title = f"{name} #{int(s['index'])}"
            if 'img' in s:
                ax.set_title(title + ('\n' + textwrap.fill(text, 32) if text else ''), fontsize=6, loc='left')
            else:
                ax.text(0, 1, title + '\n' + textwrap.fill(text, 32), fontsize=6, va='top', family='monospace')
    for name, samples in batch.items():
        if 'mask' in samples[0]:
            stats[f'{name}_masked_patches'] = sum(float(s['mask'].float().mean()) for s in samples) / len(samples)
        if 'mlm_labels' in samples[0]:
            real = sum(int((~s['padding_mask']).sum()) - 2 for s in samples)
            stats[f'{name}_predicted_tokens'] = sum(int((s['mlm_labels'] != -100).sum()) for s in samples) / real
    fig.suptitle(f'step {step} (seed {seed}): greyed = masked patches; [tok] masked, [tok>x] random, [tok=] kept',
                 fontsize=8)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return stats


def main(argv: Optional[List[str]] = None) -> None:
    """Draw the requested steps and print what each holds.

    Args:
        argv: Arguments; ``sys.argv[1:]`` if None.
    """
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('--steps', type=int, nargs='+', default=[0])
    p.add_argument('--out', default='work_dirs/browse_pretrain_data')
    p.add_argument('--max-samples', type=int, default=8, help='samples drawn per stream')
    p.add_argument('--seed', type=int, default=0, help="the run's seed (randomness.seed)")
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = p.parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    for step in args.steps:
        path = osp.join(args.out, f'step_{step:06d}.png')
        stats = draw_step(dataset, step, args.seed, args.max_samples, path)
        print(f'step {step}: ' + ', '.join(f'{k} {v:.2f}' if isinstance(v, float) else f'{k} {v}'
                                           for k, v in stats.items()) + f' -> {path}')


if __name__ == '__main__':
    main()
