"""See what a CIM pretraining run does: one PNG per image, the corruption and the enhancer's answer.

Each PNG shows the original, the generator's input, the corrupted image the enhancer sees, and the enhancer's
output.

    python tools/visualization/visualize_cim.py CONFIG CHECKPOINT --images a.jpg b.jpg --out DIR \
        [--encoder-checkpoint pretrain/dall_e/encoder.pkl] [--decoder-checkpoint pretrain/dall_e/decoder.pkl] \
        [--temperature T] [--full-crop] [--device cpu] [--seed 0]

Each image goes through the config's train pipeline minus colour jitter and flip (two-view crop and
blockwise mask, seeded with --seed per image). Panels: the crop; the generator's input (masked
patches grey); the corrupted image (DALL-E decoding of the tokens, sampled ones at masked patches;
cyan outlines the tokens the sample actually changed); then for ResPix the target (the original,
sliding-window normalised) and the enhancer's prediction, both shown as values in [-2, 2]
mapped to [0, 1] per channel (MSE in the title); for RevDet the true replacements and the
enhancer's replacement probability per token.
"""
import argparse
import os
import os.path as osp
import random
import runpy
from typing import List, Optional, Sequence

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate

from beitmm.apis import init_model
from beitmm.visualization import cim_visualization, mask_overlay, mim_view_pipeline, to_image, upsample_grid


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The parsed options.
    """
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='CIM pretraining config')
    p.add_argument('checkpoint', help='CIM checkpoint (with the generator: save_generator=True, the default)')
    p.add_argument('--images', nargs='+', required=True, help='image files')
    p.add_argument('--out', required=True, help='output folder for the PNGs')
    p.add_argument('--encoder-checkpoint', help="dVAE encoder weights, replacing the config's path")
    p.add_argument('--decoder-checkpoint', help="dVAE decoder weights, replacing the config's path")
    p.add_argument('--temperature', type=float, help="sampling temperature, replacing the config's")
    p.add_argument('--full-crop', action='store_true', help='crop the whole image (scale 1) instead of a random part')
    p.add_argument('--device', default='cpu')
    p.add_argument('--seed', type=int, default=0, help='seed of the crop, the mask and the sampling (per image)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, key=value')
    return p.parse_args(argv)


def prepare_cfg(cfg: Config, args: argparse.Namespace) -> List[str]:
    """Apply the command-line dVAE paths and temperature; fail early on missing dVAE files.

    Returns:
        The dVAE parts ('encoder' / 'decoder') that have no weight file.
    """
    tok = cfg.model.tokenizer
    unset = []
    for part in ('encoder', 'decoder'):
        given = getattr(args, f'{part}_checkpoint')
        if given is not None:
            tok[f'{part}_checkpoint'] = given
        path = tok.get(f'{part}_checkpoint')
        if path is None:
            unset.append(part)
        elif not path.startswith(('http://', 'https://')) and not osp.exists(path):
            raise FileNotFoundError(f'dVAE {part} weights {path} not found: CIM needs both the DALL-E encoder and '
                                    f'decoder to corrupt images (pass --{part}-checkpoint)')
    if args.temperature is not None:
        cfg.model.temperature = args.temperature
    return unset


def load_cim_checkpoint(model: torch.nn.Module, path: str, skip_parts: Sequence[str] = ()) -> bool:
    """Load a CIM checkpoint as saved (ViT or ResNet enhancer); only the frozen tokenizer may be absent.

    Args:
        model: The built CIM model.
        path: Checkpoint file.
        skip_parts: dVAE parts ('encoder' / 'decoder') whose weights in the checkpoint are ignored
            (given explicitly on the command line).

    Returns:
        Whether the checkpoint held the tokenizer (``save_tokenizer=True``).
    """
    from beitmm.checkpoint import load_checkpoint_file, unwrap_checkpoint
    state = unwrap_checkpoint(load_checkpoint_file(path, map_location='cpu'))
    skip = tuple(f'tokenizer.{part}.' for part in skip_parts)
    state = {k: v for k, v in state.items() if not (skip and k.startswith(skip))}
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith('tokenizer.')]
    if missing:
        raise KeyError(f'{path} lacks {len(missing)} weights of the CIM model, e.g. {missing[:4]} (a checkpoint saved '
                       'with save_generator=False has no generator: it cannot corrupt images)')
    return any(k.startswith('tokenizer.') for k in state)


def _normalised_image(t: torch.Tensor) -> np.ndarray:
    """Window-normalised values [3, H, W] in [-2, 2] -> [H, W, 3] uint8 (0 -> mid grey)."""
    return to_image((t.clamp(-2, 2) + 2) / 4)


def draw(path: str, title: str, out: dict) -> None:
    """Write the figure of one image (``out``: one sample of ``cim_visualization``, as numpy)."""
    original, corrupted = to_image(out['original']), to_image(out['corrupted'])  # [H, W, 3] uint8
    mask, replaced = out['mask'].cpu().numpy(), out['replaced'].cpu().numpy()
    size = original.shape[:2]
    panels = [(original, 'original'),
              (mask_overlay(original, mask, alpha=1.0), f'generator input ({int(mask.sum())} masked)'),
              (corrupted, f'corrupted: enhancer input\n({int(replaced.sum())} tokens replaced, cyan)')]
    if 'respix_pred' in out:
        panels.append((_normalised_image(out['respix_target']), 'ResPix target\n(window-normalised original)'))
        panels.append((_normalised_image(out['respix_pred']),
                       f"enhancer (ResPix) prediction\n(MSE {float(out['respix_mse']):.3f})"))
    else:
        panels.append((mask_overlay(corrupted, replaced, alpha=0.6, grey=255), 'replaced tokens (truth)'))
        prob = out['replaced_prob'].cpu().numpy()
        panels.append((prob, f'enhancer (RevDet): p(replaced)\n(mean {prob.mean():.2f})'))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 3.2), squeeze=False, layout='constrained')
    for ax, (img, name) in zip(axes[0], panels, strict=True):
        if img.ndim == 2:
            ax.imshow(upsample_grid(img, size), cmap='magma', vmin=0, vmax=1)
        else:
            ax.imshow(img)
        ax.set_title(name, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    if replaced.any():
        axes[0, 2].contour(upsample_grid(replaced.astype(np.float32), size), levels=[0.5], colors='cyan',
                           linewidths=0.8)
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> List[str]:
    """Run the tool.

    Args:
        argv: Command-line arguments (default ``sys.argv[1:]``).

    Returns:
        Paths of the written PNGs, one per image.
    """
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if not str(cfg.model.get('type', '')).endswith('CIM'):
        raise ValueError(f'{args.config} is not a CIM config (model type {cfg.model.get("type")})')
    unset = prepare_cfg(cfg, args)
    model = init_model(cfg, None, device=args.device)
    given = [p for p in ('encoder', 'decoder') if getattr(args, f'{p}_checkpoint') is not None]
    if not load_cim_checkpoint(model, args.checkpoint, skip_parts=given):
        for part in unset:
            print(f'warning: the dVAE {part} has no weights (random): pass --{part}-checkpoint for a real corruption')
    model.to(args.device).eval()
    pipeline = mim_view_pipeline(cfg, args.full_crop)
    os.makedirs(args.out, exist_ok=True)
    written, names = [], set()
    for path in args.images:
        random.seed(args.seed)
        np.random.seed(args.seed)
        torch.manual_seed(args.seed)
        data = model.data_preprocessor(pseudo_collate([pipeline(dict(img_path=path))]), False)
        img, tok_view = data['inputs']
        out = cim_visualization(model, img, tok_view, data['data_samples'][0].mask[None])
        sample = {k: v[0] for k, v in out.items()}
        stem = osp.splitext(osp.basename(path))[0]
        name = stem if stem not in names else f'{stem}_{len(written)}'
        names.add(name)
        target = osp.join(args.out, f'{name}.png')
        title = (f'{osp.basename(path)} | {osp.basename(args.checkpoint)} | temperature {model.temperature:g} | '
                 f'generator top-1 at masked {100 * float(sample["gen_acc"]):.0f}%')
        draw(target, title, sample)
        written.append(target)
        print(f'wrote {target}')
    return written


if __name__ == '__main__':
    main()
